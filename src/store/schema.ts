import type { Generated } from 'kysely';

/** The store's engines: SQLite for one process, PostgreSQL for teams and HA. */
export type Engine = 'sqlite' | 'postgres';

/**
 * The service's tables. Times are ISO-8601 UTC strings (they sort as text on both engines);
 * booleans are 0/1; JSON is text; large documents are gzip-compressed blobs.
 */
export interface Tables {
  /** Facts shared by every process of one deployment (see store/cluster.ts). */
  store_meta: {
    name: string;
    value: string;
  };
  users: {
    id: Generated<number>;
    name: string;
    role: string;
    password_hash: string;
    created_at: string;
    /** JSON list of environments this user may approve for (null: all). */
    environments: string | null;
  };
  tokens: {
    id: Generated<number>;
    name: string;
    role: string;
    /** Permissions this token is limited to (JSON list), or null for all its role has. */
    scopes: string | null;
    /** sha256 of the token: tokens are 256 random bits, so a fast hash is enough. */
    hash: string;
    user_id: number | null;
    /** The person who issued it (a user name, or the OS user of `customs server token create`). */
    created_by: string | null;
    created_at: string;
    expires_at: string | null;
    revoked_at: string | null;
    last_used_at: string | null;
    /** JSON list of environments this token may act for (null: all its role allows). */
    environments: string | null;
  };
  registries: {
    id: Generated<number>;
    /** host[:port] as image references name it. */
    host: string;
    url: string;
    insecure: number;
    /** AES-256-GCM sealed JSON {username, password, webhookSecret}; never leaves the server. */
    secrets: string | null;
    created_at: string;
    /** 1: the server pushes signed scans and verdicts beside this registry's images. */
    attest: Generated<number>;
  };
  /** Attestations the server pushed, per image and place (the periodic re-signing reads it). */
  attestations: {
    digest: string;
    registry: string;
    repository: string;
    key_id: string;
    pushed_at: string;
    valid_until: string;
    /** JSON {environment: status} of the verdicts signed. */
    verdicts: string;
    /** sha256 of what was signed without its times: an unchanged image is not pushed again. */
    content: string;
  };
  /** Manifests the server pushed beside images (OCI referrers): never scanned as images. */
  attestation_artifacts: {
    digest: string;
    subject: string;
    pushed_at: string;
    /** `registry/repository` it was pushed to (null: recorded before 0017). */
    place: string | null;
  };
  images: {
    id: Generated<number>;
    registry: string;
    repository: string;
    digest: string;
    /** JSON list of tags seen pointing at this digest. */
    tags: string;
    platform: string | null;
    first_seen: string;
    last_seen: string;
    latest_scan_id: number | null;
  };
  inventories: {
    digest: string;
    /** gzip JSON {image, os, packages, warnings}: what re-matching needs. */
    data: Buffer;
    created_at: string;
    /** server-scan | reported | attested-sbom: who read it (see Provenance). */
    provenance_kind: Generated<string>;
    /** The job source of a server scan; the token or user of a report. */
    provenance_by: string | null;
    provenance_at: string | null;
  };
  scans: {
    id: Generated<number>;
    digest: string;
    db_version: string;
    source: string;
    /** JSON {repository, commit, pipelineUrl, environment} from a CI upload. */
    context: string | null;
    created_at: string;
    grade: string;
    risk: number;
    critical: number;
    high: number;
    medium: number;
    low: number;
    unknown: number;
    kev: number;
    fixable: number;
    total: number;
    /** gzip JSON of the scan result without its package list (that is in inventories). */
    result: Buffer;
    duration_ms: number;
    /** Set on a patch: the full scan whose findings it replaces for some packages. */
    base_id: number | null;
    /** The newest database version this result was confirmed for without a change. */
    checked_version: string | null;
    /** JSON Tally: what the grade is computed from. */
    tally: string | null;
    /** The provenance of the inventory this result was matched from. */
    provenance_kind: Generated<string>;
    provenance_by: string | null;
    provenance_at: string | null;
  };
  /** Repositories polled for new tags (registries without webhooks). */
  watches: {
    id: Generated<number>;
    registry: string;
    repository: string;
    interval_seconds: number;
    last_polled: string | null;
    last_error: string | null;
    created_at: string;
  };
  /** (ecosystem, name as advisories key it) → inventories holding such a package. */
  package_index: { ecosystem: string; name: string; digest: string };
  environments: {
    name: string;
    exposure: string;
    created_at: string;
    /** JSON {critical?, kev?, epss?}: which new findings alert (null: none). */
    alert_rules: string | null;
    /** JSON gate settings (null: the defaults for the environment's name). */
    gate: string | null;
  };
  /** Where alerts go: a signed webhook, Slack or Teams incoming webhook, or email. */
  channels: {
    id: Generated<number>;
    type: string;
    /** URL, or an email address. */
    target: string;
    /** Sealed HMAC secret of a webhook channel. */
    secret: string | null;
    /** JSON list of environments it serves, or null for all. */
    environments: string | null;
    created_at: string;
  };
  /** One delivery per channel, environment, image and database version, retried until it lands or fails. */
  alerts: {
    id: Generated<number>;
    key: string;
    channel_id: number;
    environment: string;
    image: string;
    db_version: string;
    /** JSON list of the findings that raised it. */
    findings: string;
    /** pending | delivered | failed */
    state: string;
    attempts: number;
    run_after: string;
    last_error: string | null;
    created_at: string;
    delivered_at: string | null;
    /** findings | exception-expiry | policy | provenance */
    kind: Generated<string>;
    /** The headline of a non-findings alert. */
    summary: string | null;
  };
  /** Which digest was deployed where, when (the newest per repository/namespace/service runs now). */
  deployments: {
    id: Generated<number>;
    environment: string;
    registry: string;
    repository: string;
    digest: string;
    namespace: string;
    service: string;
    source: string;
    deployed_at: string;
    /** When the cluster inventory stopped seeing it run (null: it runs, or nothing says otherwise). */
    ended_at: string | null;
  };
  db_versions: {
    id: Generated<number>;
    version: string;
    origin: string;
    mode: string;
    bytes: number;
    changed_packages: number;
    rescans: number;
    installed_at: string;
  };
  finding_events: {
    id: Generated<number>;
    digest: string;
    db_version: string;
    /** new | fixed | changed (severity, KEV, status or fixed version) */
    kind: string;
    vulnerability: string;
    package: string;
    severity: string;
    kev: number;
    created_at: string;
  };
  /** The approval state of a digest for an environment (history: the audit log). */
  approvals: {
    id: Generated<number>;
    digest: string;
    environment: string;
    /** requested | approved | rejected | revoked */
    state: string;
    requested_by: string | null;
    request_reason: string | null;
    requested_at: string | null;
    decided_by: string | null;
    decision_reason: string | null;
    decided_at: string | null;
    /** JSON list of the policy failures the approver saw and accepted. */
    accepted_failures: string | null;
  };
  /** Server-side exceptions (waivers), the twin of .customsignore.yaml. */
  exceptions: {
    id: Generated<number>;
    vulnerability: string | null;
    package: string | null;
    /** A policy rule id waived. */
    rule: string | null;
    repository: string | null;
    digest: string | null;
    environments: string | null;
    reason: string;
    expires_at: string;
    /** pending | active | revoked (expiry is read from expires_at) */
    state: string;
    created_by: string;
    created_at: string;
    approved_by: string | null;
    approved_at: string | null;
    revoked_by: string | null;
    revoked_at: string | null;
    expiry_alerted_at: string | null;
  };
  audit_log: {
    seq: number;
    at: string;
    actor: string;
    action: string;
    subject: string;
    details: string;
    prev_hash: string;
    hash: string;
    /** ECDSA P-256 signature (base64 DER) of seq and hash by the server key `key_id` (0009). */
    sig: string | null;
    key_id: string | null;
  };
  /** The newest audit entry, signed apart from it: a cut-off tail no longer reaches it. */
  audit_head: { id: number; seq: number; hash: string; sig: string; key_id: string; at: string };
  /** The server's keys: the private half sealed with the secret key, as registry credentials are. */
  server_keys: {
    /** sha256 of the DER public key, hex (what signatures name). */
    id: string;
    purpose: string;
    algorithm: string;
    public_pem: string;
    sealed_private: string;
    created_at: string;
    retired_at: string | null;
  };
  /** Failed password sign-ins per account name: the lockout holds across server replicas. */
  sign_in_failures: {
    name: string;
    failures: number;
    first_at: string;
    last_at: string;
    locked_until: string | null;
  };
  trust_results: {
    digest: string;
    /** sha256 of the trust rules checked. */
    rules: string;
    trusted: number;
    reason: string;
    details: string;
    checked_at: string;
  };
  /** Every package version of every stored inventory, for search. */
  package_versions: { digest: string; name: string; version: string; type: string };
  /** Findings of a package set under one database version and rank context (results.ts). */
  finding_sets: { hash: string; data: Buffer; created_at: string };
  /** Findings of each digest's newest scan (ids and aliases), for search. */
  finding_index: {
    digest: string;
    vulnerability: string;
    package: string;
    version: string;
    severity: string;
  };
  /**
   * The gate's decision per (environment, `registry/repository`, digest), as the overview and the
   * admission webhook read it (store/verdicts.ts: when a row still holds, and who removes it).
   */
  verdicts: {
    environment: string;
    repository: string;
    digest: string;
    /** verdict_generation when it was computed. */
    generation: number;
    /** The newest scan it judged (id and created_at: a server scan replaces a report in place). */
    scan_id: number | null;
    scan_at: string | null;
    /** sha256 of the policy it was judged by. */
    policy: string;
    /** When time alone may change it (an exception expires, a fix grows old, an OS reaches end of life). */
    valid_until: string | null;
    computed_at: string;
    allowed: number;
    status: string;
    /** JSON of the whole decision (policy/judge.ts#Decision), as admission answers with it. */
    data: string;
    /** JSON of what a list shows (gate/verdicts.ts#VerdictSummary): small, read for every row. */
    summary: string;
    /** Set by a change of the gate (store/verdicts.ts#staleVerdicts): never used for a decision. */
    stale_since: string | null;
  };
  /** One row: bumped by every change of the gate, so a verdict computed across one is not kept. */
  verdict_generation: { id: number; generation: number };
  /** Embedded mode's job queue (PostgreSQL uses pg-boss instead). */
  jobs: {
    id: Generated<number>;
    kind: string;
    key: string;
    payload: string;
    state: string;
    attempts: number;
    max_attempts: number;
    run_after: string;
    lease_until: string | null;
    last_error: string | null;
    created_at: string;
    updated_at: string;
  };
}
