import type { RegistryClient } from '../../image/registry/client.js';
import type { TrustedKey } from '../cosign.js';
import { INTOTO_PAYLOAD_TYPE, verifyEnvelope, type Envelope } from './dsse.js';
import { fetchAttestations, statementOf } from './oci.js';
import {
  canonicalRepository,
  STATEMENT_V01,
  STATEMENT_V1,
  VERDICT_PREDICATE,
  VULN_PREDICATE,
  verdictPredicateType,
  type Statement,
  type VerdictPredicate,
  type VulnPredicate,
} from './statement.js';

export type AttestationKind = 'vuln' | 'verdict';
export const PREDICATE_OF: Record<AttestationKind, string> = {
  vuln: VULN_PREDICATE,
  verdict: VERDICT_PREDICATE,
};

export interface AttestationCheck {
  ok: boolean;
  /** One line: what was accepted, or why nothing was. */
  reason: string;
  /** The statement that decided, when one verified. */
  statement?: Statement;
  keyId?: string;
  /** Every envelope looked at, with why it did not count. */
  checked: Array<{ layer: string; predicateType?: string; problem?: string }>;
}

export interface VerifyOptions {
  keys: TrustedKey[];
  kind: AttestationKind;
  /** verdict: the environment the verdict must allow. */
  environment?: string;
  /** vuln: the scan's database must be at most this old (ms) when judged; default 7 days. */
  maxDbAgeMs?: number;
  now?: Date;
}

const DAY = 86_400_000;

/**
 * One envelope judged on its own: signature, payload type, statement type, subject = the digest,
 * predicate type. Returns the statement or the reason it does not count.
 */
export function judgeEnvelope(
  e: Envelope,
  digest: string,
  predicateType: string,
  keys: TrustedKey[],
): { statement?: Statement; keyId?: string; problem?: string } {
  if (e.payloadType !== INTOTO_PAYLOAD_TYPE)
    return { problem: `payload type ${e.payloadType} is not in-toto` };
  const sig = verifyEnvelope(e, keys);
  if (!sig.keyId) return { problem: sig.problem };
  const st = statementOf(e);
  if (!st) return { problem: 'the signed payload is not an in-toto statement' };
  if (st._type !== STATEMENT_V1 && st._type !== STATEMENT_V01)
    return { problem: `statement type ${st._type}` };
  if (st.predicateType !== predicateType) return { problem: `predicate ${st.predicateType}` };
  const [alg, hex] = digest.split(':');
  if (!st.subject.some((s) => s && typeof s === 'object' && s.digest?.[alg] === hex))
    return { problem: `signed for another image (subject is not ${digest})` };
  return { statement: st, keyId: sig.keyId };
}

function time(s: unknown): number {
  const t = typeof s === 'string' ? Date.parse(s) : NaN;
  return Number.isFinite(t) ? t : NaN;
}

/**
 * The freshest signed attestation of the kind for the digest, and whether it lets the image pass.
 * A verdict counts only for the repository it names (`client`'s registry and `repository`).
 * For verdicts the newest signed verdict for the environment decides: an older "allowed" never
 * outvotes a newer "denied" (replaying an old envelope gains nothing), and an expired one fails.
 */
export async function verifyAttestation(
  client: RegistryClient,
  repository: string,
  digest: string,
  o: VerifyOptions,
): Promise<AttestationCheck> {
  const now = (o.now ?? new Date()).getTime();
  const predicateType =
    o.kind === 'verdict' && o.environment ? verdictPredicateType(o.environment) : PREDICATE_OF[o.kind];
  const place = canonicalRepository(`${client.domain}/${repository}`);
  const found = await fetchAttestations(client, repository, digest);
  const checked: AttestationCheck['checked'] = found.problems.map((p) => ({ layer: '', problem: p }));
  const good: Array<{ st: Statement; keyId: string; at: number; layer: string }> = [];
  for (const { envelope, layer } of found.envelopes) {
    const j = judgeEnvelope(envelope, digest, predicateType, o.keys);
    const st = j.statement;
    if (!st) {
      // Other kinds of attestation under the same tag are expected; only say why ours did not count.
      const other = statementOf(envelope)?.predicateType;
      checked.push({ layer, predicateType: other, problem: j.problem });
      continue;
    }
    if (o.kind === 'verdict') {
      const p = st.predicate as Partial<VerdictPredicate>;
      if (o.environment && p.environment !== o.environment) {
        checked.push({ layer, predicateType, problem: `a verdict for ${String(p.environment)}` });
        continue;
      }
      // Exceptions and approvals may hold in one repository only: a verdict copied beside the
      // same digest in another repository does not speak for it.
      if (typeof p.repository !== 'string' || canonicalRepository(p.repository) !== place) {
        checked.push({
          layer,
          predicateType,
          problem:
            typeof p.repository === 'string'
              ? `decided for ${p.repository.slice(0, 300)}, not ${place}`
              : `names no repository (it must be ${place})`,
        });
        continue;
      }
      good.push({ st, keyId: j.keyId!, at: time(p.decidedAt), layer });
    } else {
      const p = st.predicate as Partial<VulnPredicate>;
      good.push({ st, keyId: j.keyId!, at: time(p.metadata?.scanFinishedOn), layer });
    }
  }
  const fail = (reason: string): AttestationCheck => ({ ok: false, reason, checked });
  if (!good.length) {
    const why = checked.find((c) => c.predicateType === predicateType)?.problem ?? checked[0]?.problem;
    return fail(
      found.envelopes.length
        ? `no ${o.kind} attestation for ${digest}${o.environment ? ` in ${o.environment}` : ''} verifies${why ? `: ${why}` : ''}`
        : `no attestations are attached to ${digest}`,
    );
  }
  good.sort((a, b) => (b.at || 0) - (a.at || 0));
  const best = good[0];
  for (const g of good) checked.push({ layer: g.layer, predicateType });
  const base = { statement: best.st, keyId: best.keyId, checked };
  if (o.kind === 'verdict') {
    const p = best.st.predicate as Partial<VerdictPredicate>;
    const until = time(p.validUntil);
    if (!Number.isFinite(until)) return { ...base, ok: false, reason: 'the verdict has no valid-until time' };
    if (until <= now) return { ...base, ok: false, reason: `the newest verdict expired at ${p.validUntil}` };
    if (p.allowed !== true)
      return {
        ...base,
        ok: false,
        reason: `the newest verdict for ${p.environment} is ${p.status ?? 'denied'}${p.reasons?.length ? `: ${p.reasons.join('; ')}` : ''}`,
      };
    return {
      ...base,
      ok: true,
      reason: `allowed in ${p.environment} (${p.status}) by ${p.issuer ?? 'key'} ${best.keyId}, valid until ${p.validUntil}`,
    };
  }
  const p = best.st.predicate as Partial<VulnPredicate>;
  const built = time(p.scanner?.db?.builtAt);
  const maxAge = o.maxDbAgeMs ?? 7 * DAY;
  if (!Number.isFinite(best.at))
    return { ...base, ok: false, reason: 'the scan attestation has no finish time' };
  if (Number.isFinite(built) && best.at - built > maxAge)
    return {
      ...base,
      ok: false,
      reason: `the scan used a database ${Math.floor((best.at - built) / DAY)} days old (at most ${Math.floor(maxAge / DAY)})`,
    };
  if (now - best.at > maxAge)
    return {
      ...base,
      ok: false,
      reason: `the newest signed scan is from ${p.metadata?.scanFinishedOn}, older than ${Math.floor(maxAge / DAY)} days`,
    };
  const s = p.scanner?.result?.summary as { total?: number; grade?: string } | undefined;
  return {
    ...base,
    ok: true,
    reason: `signed scan from ${p.metadata?.scanFinishedOn} (database ${p.scanner?.db?.version}): ${s?.total ?? '?'} findings, grade ${s?.grade ?? '?'}`,
  };
}
