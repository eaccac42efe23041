import type { ScanResult } from '../../model/scan.js';
import { VERSION } from '../../version.js';

/**
 * in-toto Statements (v1) Customs signs: the scan as cosign's vulnerability predicate, so
 * `cosign verify-attestation --type vuln` and Kyverno read it, and the verdict as Customs' own
 * predicate (no standard one says "allowed in this environment until …").
 */

export const STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
/** Statements from older tools still say v0.1; they are read, never written. */
export const STATEMENT_V01 = 'https://in-toto.io/Statement/v0.1';
export const VULN_PREDICATE = 'https://cosign.sigstore.dev/attestation/vuln/v1';
export const VERDICT_PREDICATE = 'https://customs.dev/attestation/verdict/v1';
/**
 * Each environment's verdict has a type of its own: policy engines (Kyverno's
 * `verifyImages.attestations[].type`) select statements by type and require every statement of it
 * to pass, so one shared type would let a staging verdict stand in for a missing production one.
 */
export const verdictPredicateType = (environment: string): string =>
  `${VERDICT_PREDICATE}/${encodeURIComponent(environment)}`;
export const OPENVEX_PREDICATE = 'https://openvex.dev/ns';

export interface Statement<P = unknown> {
  _type: string;
  subject: Array<{ name: string; digest: Record<string, string> }>;
  predicateType: string;
  predicate: P;
}

export function statement<P>(
  name: string,
  digest: string,
  predicateType: string,
  predicate: P,
): Statement<P> {
  const [alg, hex] = digest.split(':');
  return { _type: STATEMENT_V1, subject: [{ name, digest: { [alg]: hex } }], predicateType, predicate };
}

/** cosign's vuln/v1 predicate; `result` is the findings part of Customs' JSON (no inventory: it is the SBOM's job). */
export interface VulnPredicate {
  invocation: { parameters: string[]; uri: string; event_id: string; 'builder.id': string };
  scanner: {
    uri: string;
    version: string;
    db: { uri: string; version: string; builtAt?: string };
    result: {
      summary: ScanResult['summary'];
      coverage?: ScanResult['coverage'];
      findings: Array<{
        id: string;
        package: string;
        version: string;
        purl: string;
        severity: string;
        status: string;
        fixedVersion?: string;
        kev?: boolean;
      }>;
      suppressed: Array<{ id: string; purl: string; by: string; reason: string }>;
      warnings: string[];
    };
  };
  metadata: { scanStartedOn: string; scanFinishedOn: string };
}

export function vulnPredicate(
  r: ScanResult,
  o: { startedAt?: string; builder?: string } = {},
): VulnPredicate {
  return {
    invocation: { parameters: [], uri: '', event_id: '', 'builder.id': o.builder ?? 'customs' },
    scanner: {
      uri: `pkg:npm/customs@${VERSION}`,
      version: VERSION,
      db: {
        uri: r.database.origin ?? 'local',
        version: r.database.version ?? 'unknown',
        builtAt: r.database.builtAt,
      },
      result: {
        summary: r.summary,
        coverage: r.coverage,
        findings: r.findings.map((f) => ({
          id: f.id,
          package: f.package.name,
          version: f.package.version,
          purl: f.package.purl,
          severity: f.severity.level,
          status: f.status,
          ...(f.fixedVersion ? { fixedVersion: f.fixedVersion } : {}),
          ...(f.kev ? { kev: true } : {}),
        })),
        suppressed: (r.suppressed ?? []).map((f) => ({
          id: f.id,
          purl: f.package.purl,
          by: f.suppression.by,
          reason: f.suppression.reason,
        })),
        warnings: r.warnings,
      },
    },
    metadata: { scanStartedOn: o.startedAt ?? r.createdAt, scanFinishedOn: r.createdAt },
  };
}

/**
 * `registry/repository` as a verdict names it and as it is compared: Docker Hub's hosts as
 * `docker.io` (what image references and Kyverno's `image.registry` say), the rest as written.
 */
export function canonicalRepository(place: string): string {
  const slash = place.indexOf('/');
  if (slash < 0) return place;
  const host = place.slice(0, slash).toLowerCase();
  const docker = host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'docker.io';
  return `${docker ? 'docker.io' : host}${place.slice(slash)}`;
}

/** Customs' verdict: may this digest run in this environment, why, on whose word, until when. */
export interface VerdictPredicate {
  environment: string;
  /**
   * The `registry/repository` the verdict was decided for: exceptions and approvals may hold in
   * one repository and not another, so a verdict copied beside the same digest elsewhere is refused.
   */
  repository: string;
  allowed: boolean;
  /** The gate's status: approved, allowed, denied, pending, … */
  status: string;
  reasons: string[];
  /** Policy rules the image fails (an approval may accept them). */
  rulesFailed: string[];
  approvals: Array<{ by: string; at: string; decision: string; reason?: string; expires?: string }>;
  exceptions: Array<{ id: string; by: string; reason: string; expires?: string }>;
  database: { version: string };
  decidedAt: string;
  /**
   * After this the verdict says nothing: the verdict TTL, or sooner when an exception it rests on
   * expires or time alone changes the policy's judgement (fix age, end of life).
   */
  validUntil: string;
  issuer: string;
}
