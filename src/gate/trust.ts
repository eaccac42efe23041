import { RegistryClient } from '../image/registry/client.js';
import { provenanceProblem } from '../policy/provenance.js';
import type { Db } from '../store/db.js';
import { now } from '../store/db.js';
import { registryOptions } from '../store/registries.js';
import type { SecretBox } from '../store/secret-box.js';
import { trustedKey, verifyImageSignatures, type SignatureCheck } from './cosign.js';
import { keylessVerifier } from './sigstore.js';
import { latestResult, trustRulesId } from './evaluate.js';
import type { TrustRules } from './settings.js';
import { putTrustResult } from '../store/approvals.js';
import { placesOf } from '../store/images.js';

export { globMatch, provenanceProblem } from '../policy/provenance.js';

export interface TrustVerdict {
  trusted: boolean;
  reason: string;
  signatures?: SignatureCheck;
}

/**
 * Check a stored image against trust rules (its signatures in its registry, its recorded
 * provenance) and keep the verdict, which admission and approvals then read without a network call.
 */
export async function checkTrust(
  db: Db,
  box: SecretBox,
  digest: string,
  rules: TrustRules,
): Promise<TrustVerdict> {
  const verdict = await judge(db, box, digest, rules);
  const row = {
    trusted: verdict.trusted ? 1 : 0,
    reason: verdict.reason,
    details: JSON.stringify(verdict.signatures?.signatures ?? []),
    checked_at: now(),
  };
  await putTrustResult(db, digest, trustRulesId(rules), row);
  return verdict;
}

async function judge(db: Db, box: SecretBox, digest: string, rules: TrustRules): Promise<TrustVerdict> {
  const images = await placesOf(db, digest);
  let signatures: SignatureCheck | undefined;
  if (rules.keys.length || rules.identities.length) {
    if (!images.length)
      return { trusted: false, reason: 'the server has never seen this image in a registry' };
    const keys = rules.keys.map((k, i) => trustedKey(k, `trust key ${i + 1}`));
    if (rules.identities.length && !rules.trustedRoot)
      return { trusted: false, reason: 'keyless identities are set but no trusted root is' };
    const keyless =
      rules.identities.length && rules.trustedRoot
        ? keylessVerifier(rules.trustedRoot, rules.identities, 'the environment trusted root')
        : undefined;
    // The image may live in several repositories; a trusted signature in any of them counts.
    for (const img of images) {
      const opts = await registryOptions(db, box, img.registry);
      if (!opts) continue;
      const client = new RegistryClient(img.registry, opts);
      try {
        signatures = await verifyImageSignatures(client, img.repository, digest, { keys, keyless });
      } catch (err) {
        signatures = {
          trusted: false,
          reason: `cannot read its signatures: ${(err as Error).message}`,
          signatures: [],
        };
      } finally {
        await client.close();
      }
      if (signatures.trusted) break;
    }
    if (!signatures) return { trusted: false, reason: 'its registry is not configured on this server' };
    if (!signatures.trusted) return { trusted: false, reason: signatures.reason, signatures };
  }
  if (rules.builders.length || rules.sources.length) {
    const latest = await latestResult(db, digest);
    const prov = (latest?.result.image.attestations ?? [])
      .filter((a) => a.kind === 'provenance' && a.provenance)
      .map((a) => a.provenance!);
    const problem = provenanceProblem(prov, rules);
    if (problem) return { trusted: false, reason: problem, signatures };
  }
  return {
    trusted: true,
    reason:
      [signatures?.reason, rules.builders.length || rules.sources.length ? 'provenance trusted' : '']
        .filter(Boolean)
        .join('; ') || 'no trust rules',
    signatures,
  };
}
