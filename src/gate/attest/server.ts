import { createHash } from 'node:crypto';
import { RegistryClient } from '../../image/registry/client.js';
import { policyChangesAt, type Policy } from '../../policy/policy.js';
import { audit } from '../../services/audit.js';
import {
  attestationsOf,
  attestedDigests,
  artifactsOf,
  forgetArtifacts,
  putAttestation,
  recordArtifacts,
} from '../../store/attestations.js';
import type { Db } from '../../store/db.js';
import { activeExceptions } from '../../store/exceptions.js';
import { placesOf } from '../../store/images.js';
import { attestationPushOptions } from '../../store/registries.js';
import type { SecretBox } from '../../store/secret-box.js';
import { evaluate, latestResult } from '../evaluate.js';
import type { Decision } from '../../policy/judge.js';
import { loadAttestationKey, ownAttestationKeyIds } from '../server-key.js';
import { allGates } from '../settings.js';
import { signEnvelope, type Envelope } from './dsse.js';
import { attachAttestations, attachReferrers } from './oci.js';
import { imageVex } from './vex.js';
import {
  canonicalRepository,
  OPENVEX_PREDICATE,
  statement,
  VERDICT_PREDICATE,
  verdictPredicateType,
  VULN_PREDICATE,
  vulnPredicate,
  type Statement,
  type VerdictPredicate,
} from './statement.js';

/**
 * The server's own attestations: after a result is recorded or the gate's decision about an image
 * changes, a queued job signs the newest server scan (cosign's vuln predicate) and one verdict per
 * environment, exactly as the gate decides it, and pushes them beside the image in every registry
 * that opted in (`attest`). Nothing a caller sends goes into them: the job reads the digest's
 * stored state only, so a token that can queue it cannot choose what is signed.
 */

export const ISSUER = 'customs-server';
/**
 * Prefix of the stored content hash: raised when what is signed changes shape (v2: the repository
 * in verdicts, VEX and OCI referrers; v3: a place's VEX without other repositories' exceptions), so
 * every place attested before is re-signed at the next sweep.
 */
export const CONTENT_FORMAT = 'v3:';
/** Referrers remembered beside an image that a push checks (newest first; one request each). */
const MAX_EARLIER_REFERRERS = 48;
/** Images read per page of a sweep (a gate change, the periodic re-signing pages through all). */
export const SWEEP_PAGE = 1000;

export interface AttestDeps {
  db: Db;
  box: SecretBox;
  policy: Policy;
  log?: (msg: string, fields?: object) => void;
}

export interface AttestOutcome {
  pushed: Array<{ place: string; verdicts: Record<string, string>; vuln: boolean }>;
  skipped: Array<{ place: string; reason: string }>;
}

const verdictOf = (
  d: Decision,
  exceptions: Awaited<ReturnType<typeof activeExceptions>>,
  validUntil: string,
  repository: string,
): VerdictPredicate => ({
  environment: d.environment,
  repository: canonicalRepository(repository),
  allowed: d.allowed,
  status: d.status,
  reasons: d.reasons,
  rulesFailed: d.policy?.failures ?? [],
  approvals: d.approval
    ? [
        {
          by: d.approval.decidedBy ?? d.approval.requestedBy ?? '',
          at: d.approval.decidedAt ?? d.approval.requestedAt ?? '',
          decision: d.approval.state,
          ...(d.approval.decisionReason ? { reason: d.approval.decisionReason } : {}),
        },
      ]
    : [],
  exceptions: exceptions.map((e) => ({
    id: String(e.id),
    by: e.approvedBy ?? e.createdBy,
    reason: e.reason,
    expires: e.expiresAt,
  })),
  database: { version: d.scan?.dbVersion ?? 'none' },
  decidedAt: d.evaluatedAt,
  validUntil,
  issuer: ISSUER,
});

/** The verdicts of a digest at one place, as the gate decides them now. */
async function decisions(deps: AttestDeps, digest: string, repository: string): Promise<Decision[]> {
  const out: Decision[] = [];
  for (const env of (await allGates(deps.db)).keys())
    out.push(await evaluate(deps.db, digest, env, { policy: deps.policy, repository }));
  return out;
}

/**
 * Sign and push one image's attestations to every place it is known in an attesting registry.
 * Throws when a push failed (the queue retries); places the registry does not hold the digest in
 * are skipped: the server signs only what the registry has under that name.
 */
export async function attestImage(
  deps: AttestDeps,
  digest: string,
  validForSeconds: number,
  force = false,
): Promise<AttestOutcome> {
  const out: AttestOutcome = { pushed: [], skipped: [] };
  const failures: string[] = [];
  for (const { registry, repository } of await placesOf(deps.db, digest)) {
    const place = `${registry}/${repository}`;
    const opts = await attestationPushOptions(deps.db, deps.box, registry);
    if (!opts) continue;
    try {
      const r = await attestPlace(deps, digest, registry, repository, validForSeconds, force);
      if ('skipped' in r) out.skipped.push({ place, reason: r.skipped });
      else out.pushed.push({ place, ...r });
    } catch (err) {
      failures.push(`${place}: ${(err as Error).message}`);
    }
  }
  if (failures.length) throw new Error(`attestations not pushed: ${failures.join('; ')}`);
  return out;
}

async function attestPlace(
  deps: AttestDeps,
  digest: string,
  registry: string,
  repository: string,
  validForSeconds: number,
  force: boolean,
): Promise<{ verdicts: Record<string, string>; vuln: boolean } | { skipped: string }> {
  const place = `${registry}/${repository}`;
  const opts = (await attestationPushOptions(deps.db, deps.box, registry))!;
  const client = new RegistryClient(registry, opts);
  try {
    const { key, keyId } = await loadAttestationKey(deps.db, deps.box);
    const sign = (st: Statement): Envelope => signEnvelope(Buffer.from(JSON.stringify(st)), key, keyId);
    const add: Array<{ envelope: Envelope; predicateType: string; statement: Statement }> = [];
    // The scan: only one the server read itself (a CI report is the client's word, not the server's).
    const latest = await latestResult(deps.db, digest);
    const vuln = latest?.provenance.kind === 'server-scan';
    if (latest && vuln) {
      const st = statement(place, digest, VULN_PREDICATE, vulnPredicate(latest.result, { builder: ISSUER }));
      add.push({ envelope: sign(st), predicateType: VULN_PREDICATE, statement: st });
    }
    const t0 = Date.now();
    const ttlEnd = t0 + validForSeconds * 1000;
    const verdicts: Record<string, string> = {};
    // Per environment, when the decision may change with no event to re-sign on: an exception
    // in force expires, or time alone changes how the policy judges the scan (a fix grows too
    // old, the OS nears its end of life). The verdict holds until then at most.
    const changes: Record<string, number> = {};
    for (const d of await decisions(deps, digest, place)) {
      const exceptions = await activeExceptions(deps.db, { repository: place, digest }, d.environment);
      const change = Math.min(
        ...exceptions.map((e) => Date.parse(e.expiresAt)).filter(Number.isFinite),
        latest
          ? (policyChangesAt(deps.policy, d.environment, latest.result, new Date(t0))?.getTime() ?? Infinity)
          : Infinity,
      );
      if (Number.isFinite(change)) changes[d.environment] = change;
      const validUntil = new Date(Math.min(ttlEnd, change)).toISOString();
      const type = verdictPredicateType(d.environment);
      const st = statement(place, digest, type, verdictOf(d, exceptions, validUntil, place));
      add.push({ envelope: sign(st), predicateType: type, statement: st });
      verdicts[d.environment] = d.status;
    }
    // What was judged not affected (exceptions for every environment, unreachable and withdrawn
    // findings) as signed OpenVEX: only about the server's own scan, as GET …/vex?signed=1 gives it.
    if (vuln) {
      const vex = await imageVex(deps.db, digest, { repository: place, author: ISSUER, at: new Date(t0) });
      if (vex?.provenance === 'server-scan' && vex.document.statements.length) {
        const st = statement(place, digest, OPENVEX_PREDICATE, vex.document);
        add.push({ envelope: sign(st), predicateType: OPENVEX_PREDICATE, statement: st });
      }
    }
    // The sweep re-signs a place once its earliest verdict runs out.
    const validUntil = new Date(Math.min(ttlEnd, ...Object.values(changes))).toISOString();
    // Asked again with nothing changed (a re-check, a repeated event) and far from expiry, or
    // held to the same change time as before (re-signing could not make it last longer): the
    // registry is not written (a token that can trigger the job cannot make it push in a loop).
    const content =
      CONTENT_FORMAT +
      createHash('sha256')
        .update(
          JSON.stringify([
            add.map((a) => {
              // Times alone (when decided, the VEX document's own stamp) are no change.
              const {
                decidedAt: _d,
                validUntil: _v,
                timestamp: _t,
                ...rest
              } = a.statement.predicate as VerdictPredicate & { timestamp?: string };
              return [a.predicateType, rest];
            }),
            changes,
          ]),
        )
        .digest('hex');
    const before = (await attestationsOf(deps.db, digest)).find(
      (r) => r.registry === registry && r.repository === repository,
    );
    const left = before ? Date.parse(before.validUntil) - t0 : 0;
    if (
      before &&
      !force &&
      before.keyId === keyId &&
      before.content === content &&
      (left > (validForSeconds * 1000) / 2 || (left > 0 && before.validUntil === validUntil))
    )
      return { skipped: `${place}: unchanged since ${before.pushedAt}` };
    // Bound to the manifest digest: the registry must hold this very digest under this name, so
    // a report naming a decoy repository or an invented digest gets nothing signed. (After the
    // unchanged check: a sweep of unchanged images costs the registry nothing.)
    const m = await client.tryManifest(repository, digest);
    if (!m || m.digest !== digest) return { skipped: `${place} does not hold ${digest}` };
    // Ours: signed with any key this server made, retired ones too: after a rotation the retired
    // key's "allowed" must go with the next push, not stand beside the new key's rejection for a
    // verifier that still holds the retired key.
    const own = await ownAttestationKeyIds(deps.db, deps.box);
    own.add(keyId);
    const ours = (e: Envelope) => e.signatures.some((s) => !!s.keyid && own.has(s.keyid));
    const adding = new Set(add.map((a) => a.predicateType));
    // Every earlier verdict of our keys goes (an environment since removed must not keep an
    // "allowed" until it expires), whatever its decidedAt: a replica whose clock runs ahead must
    // not outrank the push that came after it. The push that lands last checks the decision again
    // below, so the last one standing is the gate's current word. So does an earlier VEX (its
    // exceptions may have ended); a scan only when a newer one replaces it.
    const superseded = (type: string) =>
      type.startsWith(`${VERDICT_PREDICATE}/`) ||
      type === OPENVEX_PREDICATE ||
      (type === VULN_PREDICATE && adding.has(VULN_PREDICATE));
    const envelopes = add.map(({ envelope, predicateType }) => ({ envelope, predicateType }));
    await attachAttestations(client, repository, digest, envelopes, (old, e) =>
      !old || !ours(e) ? false : superseded(old.predicateType),
    );
    // The same envelopes as OCI 1.1 referrers, for verifiers that read those (Ratify, Notation-era
    // tooling, cosign's newer modes). The .att tag above is what cosign and Kyverno read: a
    // registry refusing referrers leaves it standing, and the failure is logged and audited.
    let referrers: string;
    try {
      const r = await attachReferrers(
        client,
        repository,
        { digest, mediaType: m.mediaType, size: m.body.length },
        envelopes,
        keyId,
        superseded,
        (digests) => recordArtifacts(deps.db, digest, digests, place),
        own,
        await artifactsOf(deps.db, digest, place, MAX_EARLIER_REFERRERS),
      );
      await forgetArtifacts(deps.db, r.gone);
      referrers = r.mode === 'api' ? 'referrers API' : 'referrers tag';
      if (r.problems.length) deps.log?.('referrers', { image: `${place}@${digest}`, problems: r.problems });
    } catch (err) {
      referrers = `not pushed: ${(err as Error).message}`;
      deps.log?.('referrers not pushed', { image: `${place}@${digest}`, reason: (err as Error).message });
    }
    await putAttestation(deps.db, { digest, registry, repository, keyId, validUntil, verdicts, content });
    await audit({ db: deps.db, actor: 'system' }, 'attestation.pushed', `image:${place}@${digest}`, {
      keyId,
      verdicts,
      vuln,
      vex: adding.has(OPENVEX_PREDICATE),
      referrers,
      validUntil,
    });
    // Two jobs for one image may interleave (a re-signing and a rejection): the one that pushed
    // last checks that what it signed is still the gate's decision, and signs again when not.
    const now = await decisions(deps, digest, place);
    const changed = now.find((d) => verdicts[d.environment] !== d.status);
    if (changed)
      throw new Error(
        `the ${changed.environment} decision changed to ${changed.status} while attesting; signing again`,
      );
    deps.log?.('attestations pushed', { image: `${place}@${digest}`, verdicts, vuln });
    return { verdicts, vuln };
  } finally {
    await client.close();
  }
}

/**
 * A sweep: every image attested before (those whose verdicts run out before `dueBefore` when it
 * is given), one after another; one image that fails does not stop the others.
 */
export async function attestSweep(
  deps: AttestDeps,
  validForSeconds: number,
  dueBefore?: string,
): Promise<{ attested: number; failed: number }> {
  let attested = 0;
  let failed = 0;
  // Every attested image, a page at a time in digest order: a gate change reaches them all, not
  // only the first thousand (which could leave the rest allowed until they expire).
  let after: string | undefined;
  for (;;) {
    const page = await attestedDigests(deps.db, {
      dueBefore,
      limit: SWEEP_PAGE,
      after,
      keyId: (await loadAttestationKey(deps.db, deps.box)).keyId,
      format: CONTENT_FORMAT,
    });
    for (const digest of page) {
      try {
        await attestImage(deps, digest, validForSeconds);
        attested++;
      } catch (err) {
        failed++;
        deps.log?.('attestation failed', { digest, reason: (err as Error).message });
      }
    }
    if (page.length < SWEEP_PAGE) break;
    after = page[page.length - 1];
  }
  return { attested, failed };
}
