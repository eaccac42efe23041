import type { Db } from '../store/db.js';
import { allGateJson, gateJsonOf } from '../store/deployments.js';
import type { TokenRecord } from '../store/auth.js';
import type { Permission } from '../model/roles.js';

/**
 * How an environment's gate behaves. Production's defaults are strict (a person approves, unknown
 * images are denied, exceptions need sign-off); other environments admit what passes their policy.
 */
export interface GateSettings {
  /** Images that pass the environment's policy (and trust rules) are approved without a person. */
  autoApprove: boolean;
  /** The approver must not be the one who asked (or, with no request, approval needs a request). */
  fourEyes: boolean;
  /** Admission needs a trusted signature (see `trust`). */
  requireSignature: boolean;
  /** An approval survives policy failures a later rescan introduces (default: it is suspended). */
  keepApprovalOnPolicyFailure: boolean;
  /** What admission does with an image the server has never scanned: it is queued either way. */
  unknownImage: 'deny' | 'allow';
  /** Admission denies images named by tag (a tag can move after the decision); digests only. */
  requireDigest: boolean;
  /** Kubernetes namespaces that map here (a namespace named like the environment always does). */
  namespaces: string[];
  /** Exceptions covering this environment need an approver's sign-off. */
  exceptionSignoff: boolean;
  /** Alert this many days before an exception expires. */
  exceptionWarningDays: number;
  /** Signature and provenance rules (PEM public keys, SLSA builders and source repositories). */
  trust: TrustRules;
  /**
   * A result the server did not read itself (a CI report) may be approved or admitted here. Where
   * false, such an image is "not verified by the server" until the server's own scan lands.
   */
  acceptReported: boolean;
}

export interface TrustRules {
  /** cosign public keys (PEM); a signature by any of them is trusted. */
  keys: string[];
  /** Keyless signers allowed: certificate identity and OIDC issuer (`*` patterns). */
  identities: Array<{ subject: string; issuer: string }>;
  /** The Sigstore trusted root (trusted_root.json text) keyless signatures are checked against. */
  trustedRoot?: string;
  /** SLSA provenance builder ids allowed (`*` matches any run of characters). */
  builders: string[];
  /** Source repositories the provenance must name (same patterns). */
  sources: string[];
}

export function defaultGate(environment: string): GateSettings {
  const prod = environment === 'production';
  return {
    autoApprove: !prod,
    fourEyes: false,
    requireSignature: false,
    keepApprovalOnPolicyFailure: false,
    unknownImage: prod ? 'deny' : 'allow',
    requireDigest: false,
    namespaces: [],
    exceptionSignoff: prod,
    exceptionWarningDays: 7,
    trust: { keys: [], identities: [], builders: [], sources: [] },
    acceptReported: !prod,
  };
}

export function gateOf(environment: string, stored: string | null): GateSettings {
  const d = defaultGate(environment);
  if (!stored) return d;
  const s = JSON.parse(stored) as Partial<GateSettings>;
  return { ...d, ...s, trust: { ...d.trust, ...(s.trust ?? {}) } };
}

export async function gateSettings(db: Db, environment: string): Promise<GateSettings | undefined> {
  const row = await gateJsonOf(db, environment);
  return row ? gateOf(environment, row.gate) : undefined;
}

export async function allGates(db: Db): Promise<Map<string, GateSettings>> {
  const rows = await allGateJson(db);
  return new Map(rows.map((r) => [r.name, gateOf(r.name, r.gate)]));
}

/** The environment a Kubernetes namespace maps to: configured lists first, then the same name. */
export function environmentOfNamespace(
  gates: Map<string, GateSettings>,
  namespace: string,
): string | undefined {
  for (const [env, g] of gates) if (g.namespaces.includes(namespace)) return env;
  return gates.has(namespace) ? namespace : undefined;
}

export type Principal = TokenRecord & { permissions: Permission[] };

/** Who did it, as the audit log and approvals name them: a user, or a named token. */
export function actorOf(p: Principal | undefined): string {
  if (!p) return 'system';
  return p.userId ? `user:${p.name.replace(/^session:/, '')}` : `token:${p.name}#${p.id}`;
}

/** May this caller use `permission` for `environment`? (A token or user may be limited to some.) */
export function mayActFor(p: Principal | undefined, permission: Permission, environment: string): boolean {
  if (!p || !p.permissions.includes(permission)) return false;
  return !p.environments || p.environments.includes(environment);
}
