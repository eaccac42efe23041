import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../../helpers/paths.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fastJsonPatch from 'fast-json-patch';
import { Admission, digestPatch, imagesOf, podSpecOf } from '../../../src/gate/admission.js';
import { jsonDepth, MAX_JSON_DEPTH, parseJsonBody } from '../../../src/server/json-body.js';
import { loggedUrl } from '../../../src/server/app.js';
import { appendAudit, inTransaction, verifyAudit } from '../../../src/gate/audit.js';
import { loadSigner } from '../../../src/gate/server-key.js';
import { checkPayload, simpleSigningPayload, trustedKey } from '../../../src/gate/cosign.js';
import { keylessVerifier, verifyBundle } from '../../../src/gate/sigstore.js';
import { TestSigstore } from '../../helpers/sigstore.js';
import { has } from '../../helpers/run.js';
import { PG_ADMIN_URL, pgQuery } from '../../helpers/pg.js';
import {
  activeExceptions,
  createException,
  expiringExceptions,
  signOffException,
} from '../../../src/gate/exceptions.js';
import { environmentOfNamespace, gateOf, type Principal } from '../../../src/gate/settings.js';
import { globMatch, provenanceProblem } from '../../../src/gate/trust.js';
import { alertExpiringExceptions, alertNewPolicyFailures } from '../../../src/gate/watch.js';
import type { Finding, ScanResult } from '../../../src/model/scan.js';
import { decideApproval } from '../../../src/gate/approvals.js';
import { evaluate } from '../../../src/gate/evaluate.js';
import type { Policy } from '../../../src/policy/policy.js';
import { applyExceptions } from '../../../src/policy/suppress.js';
import { recordImage, saveScan } from '../../../src/store/images.js';
import { recordDeployment } from '../../../src/store/deployments.js';
import { contextOf } from '../../../src/jobs/scan-job.js';
import { addChannel } from '../../../src/store/alerts.js';
import { openDb, type Db } from '../../../src/store/db.js';
import { SecretBox } from '../../../src/store/secret-box.js';

const { applyPatch } = fastJsonPatch;

const who = (name: string, role: string, environments: string[] | null = null): Principal => ({
  id: name.length,
  name,
  role,
  scopes: null,
  userId: null,
  createdBy: null,
  createdAt: '',
  expiresAt: null,
  revokedAt: null,
  lastUsedAt: null,
  environments,
  permissions:
    role === 'approver'
      ? ['read', 'report', 'approve']
      : role === 'developer'
        ? ['read', 'report']
        : ['read'],
});

/** A fixable HIGH finding in openssl 1.0 (fixed in 1.1). */
const fixableHigh = (id: string) =>
  ({
    id,
    aliases: [],
    package: { name: 'openssl', version: '1.0', type: 'apk', purl: 'pkg:apk/alpine/openssl@1.0' },
    status: 'fixed',
    fixedVersion: '1.1',
    severity: { level: 'HIGH' },
    risk: { score: 1, factors: [] },
  }) as unknown as Finding;

for (const engine of ['sqlite', 'postgres'] as const) {
  const dbName = `customs_gate_${process.pid}_${randomBytes(3).toString('hex')}`;
  const pgReady = engine === 'postgres' ? await pgQuery(`create database ${dbName}`) : true;
  const skip = !pgReady && !process.env.CI ? 'no PostgreSQL at 127.0.0.1:5432' : false;

  describe(`the gate's store (${engine})`, { skip }, () => {
    let tmp: string;
    let db: Db;
    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'customs-gate-unit-'));
      db = await openDb({
        database:
          engine === 'postgres' ? PG_ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`) : join(tmp, 's.sqlite'),
      });
    });
    after(async () => {
      await db?.close();
      if (engine === 'postgres') await pgQuery(`drop database if exists ${dbName}`);
      rmSync(tmp, { recursive: true, force: true });
    });

    it('the audit chain verifies, and an edit, a deletion or an insertion breaks it where it happened', async () => {
      // Concurrent writers take turns: the chain does not fork.
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          inTransaction(db, (trx) =>
            appendAudit(trx, { actor: `user:u${i}`, action: 'test.write', subject: `s${i}`, details: { i } }),
          ),
        ),
      );
      let v = await verifyAudit(db);
      assert.deepEqual([v.ok, v.entries], [true, 20]);
      await db.k.updateTable('audit_log').set({ details: '{"i":99}' }).where('seq', '=', 7).execute();
      v = await verifyAudit(db);
      assert.deepEqual(v.broken, { seq: 7, reason: 'its content does not match its hash (edited)' });
      await db.k.deleteFrom('audit_log').where('seq', '=', 7).execute();
      v = await verifyAudit(db);
      assert.deepEqual(v.broken, { seq: 8, reason: 'entry 7 is missing' });
      // A forged entry 7 with a correct-looking hash of its own still does not link to entry 8.
      const six = await db.k
        .selectFrom('audit_log')
        .selectAll()
        .where('seq', '=', 6)
        .executeTakeFirstOrThrow();
      await db.k
        .insertInto('audit_log')
        .values({ ...six, seq: 7, prev_hash: six.hash, hash: 'f'.repeat(64) })
        .execute();
      v = await verifyAudit(db);
      assert.equal(v.ok, false);
      assert.equal(v.broken?.seq, 7);
    });

    it('the signed audit log: re-chaining, a cut-off tail, an unsigned insertion and a dropped head are found', async () => {
      // A clean log, signed from its first entry by the server key (sealed with this secret key).
      await db.k.deleteFrom('audit_log').execute();
      const box = SecretBox.fromEnvOrFile(join(tmp, 'secret.key'));
      const signed: Db = { ...db, signer: await loadSigner(db, box) };
      for (let i = 1; i <= 8; i++)
        await inTransaction(signed, (trx) =>
          appendAudit(trx, { actor: 'user:a', action: 'test.signed', subject: `s${i}`, details: { i } }),
        );
      let v = await verifyAudit(signed);
      assert.equal(v.ok, true, JSON.stringify(v));
      assert.deepEqual([v.signatures.status, v.signatures.signed, v.signatures.head?.seq], ['valid', 8, 8]);
      // The same key, loaded again (another replica), is the same key; another secret key cannot open it.
      assert.equal((await loadSigner(db, box)).keyId, signed.signer!.keyId);
      await assert.rejects(
        loadSigner(db, SecretBox.fromEnvOrFile(join(tmp, 'other.key'))),
        /cannot be opened with this secret key/,
      );
      const keep = await db.k.selectFrom('audit_log').selectAll().orderBy('seq').execute();
      const keepHead = await db.k.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
      const restore = async () => {
        await db.k.deleteFrom('audit_log').execute();
        await db.k.insertInto('audit_log').values(keep).execute();
        await db.k.deleteFrom('audit_head').execute();
        await db.k.insertInto('audit_head').values(keepHead).execute();
        assert.equal((await verifyAudit(signed)).ok, true);
      };

      // Re-chained: entry 3 edited and every hash after it recomputed, as anyone with write access can.
      const rows = keep.map((r) => ({ ...r }));
      rows[2].actor = 'user:nobody';
      for (let i = 2; i < rows.length; i++) {
        const r = rows[i];
        r.prev_hash = rows[i - 1].hash;
        r.hash = createHash('sha256')
          .update(JSON.stringify([r.seq, r.at, r.actor, r.action, r.subject, r.details, r.prev_hash]))
          .digest('hex');
      }
      await db.k.deleteFrom('audit_log').execute();
      await db.k.insertInto('audit_log').values(rows).execute();
      v = await verifyAudit(signed);
      assert.equal(v.ok, false);
      assert.deepEqual(v.broken, {
        seq: 3,
        reason: 'its signature does not match its hash (re-chained or forged)',
      });
      assert.equal(v.signatures.status, 'invalid');
      await restore();

      // The newest entries cut off: the chain is whole, but no longer reaches the signed head.
      await db.k.deleteFrom('audit_log').where('seq', '>', 5).execute();
      v = await verifyAudit(signed);
      assert.equal(v.ok, false);
      assert.match(v.broken!.reason, /log ends at entry 5, but its signed head is entry 8 \(cut off\)/);
      // Every row gone: the same.
      await db.k.deleteFrom('audit_log').execute();
      assert.match((await verifyAudit(signed)).broken!.reason, /ends at entry 0/);
      // The head dropped as well: signed entries without their head.
      await restore();
      await db.k.deleteFrom('audit_log').where('seq', '>', 5).execute();
      await db.k.deleteFrom('audit_head').execute();
      assert.match((await verifyAudit(signed)).broken!.reason, /signed head is missing/);
      await restore();

      // An unsigned entry appended after signed ones (written without the key) is refused.
      await inTransaction(db, (trx) =>
        appendAudit(trx, { actor: 'user:mallory', action: 'test.forged', subject: 'x' }),
      );
      v = await verifyAudit(signed);
      assert.equal(v.broken?.seq, 9);
      assert.match(v.broken!.reason, /not signed/);
      await restore();

      // A head signature cannot be made from an entry's: an older entry's signature as the head fails.
      await db.k.deleteFrom('audit_log').where('seq', '>', 5).execute();
      await db.k.updateTable('audit_head').set({ seq: 5, hash: keep[4].hash, sig: keep[4].sig! }).execute();
      assert.match((await verifyAudit(signed)).broken!.reason, /signed head's signature is invalid/);
      await restore();
    });

    it('an approval holds for the failures its approver saw, and is suspended by new ones', async () => {
      const digest = `sha256:${'d'.repeat(64)}`;
      await recordImage(db, { registry: 'r.example', repository: 'app', digest });
      const scan = (version: string, ids: string[]) =>
        saveScan(db, {
          digest,
          dbVersion: version,
          source: 'test',
          durationMs: 1,
          result: {
            image: { name: 'app', attestations: [] },
            findings: ids.map(fixableHigh),
            suppressed: [],
            summary: {
              total: ids.length,
              bySeverity: { CRITICAL: 0, HIGH: ids.length, MEDIUM: 0, LOW: 0, UNKNOWN: 0 },
              fixable: ids.length,
              kev: 0,
              grade: 'D',
              gradeReason: '',
            },
          } as unknown as ScanResult,
        });
      const policy: Policy = {
        environments: {
          production: { rules: [{ id: 'no-high', check: 'vulnerabilities', severity: 'HIGH', with: {} }] },
        },
      };
      await scan('v1', ['CVE-2024-0001']);
      assert.equal((await evaluate(db, digest, 'production', { policy })).status, 'policy-failed');
      const a = await decideApproval(
        db,
        who('lead', 'approver'),
        digest,
        'production',
        'approve',
        'accepted risk',
        {
          policy,
        },
      );
      assert.deepEqual(a.acceptedFailures, ['no-high: CVE-2024-0001 (high) in openssl 1.0, fixed in 1.1']);
      assert.equal((await evaluate(db, digest, 'production', { policy })).status, 'approved');
      // A rescan with a newer database finds one more: the approval no longer covers the image.
      await scan('v2', ['CVE-2024-0001', 'CVE-2024-0002']);
      const d = await evaluate(db, digest, 'production', { policy });
      assert.equal(d.status, 'suspended');
      assert.equal(d.allowed, false);
      assert.ok(d.reasons.some((r) => r.includes('CVE-2024-0002')));
      await db.k
        .updateTable('environments')
        .set({ gate: JSON.stringify({ keepApprovalOnPolicyFailure: true }) })
        .where('name', '=', 'production')
        .execute();
      assert.equal((await evaluate(db, digest, 'production', { policy })).status, 'approved');
      await db.k.updateTable('environments').set({ gate: null }).where('name', '=', 'production').execute();

      // An exception signed off for production covers the new finding until it expires (clock injected).
      const t0 = new Date();
      const e = await createException(
        db,
        who('dev', 'developer'),
        {
          vulnerability: 'CVE-2024-0002',
          environments: ['production'],
          reason: 'not reachable',
          expiresAt: new Date(t0.getTime() + 3 * 86_400_000).toISOString(),
        },
        t0,
      );
      await signOffException(db, who('lead2', 'approver', ['production']), e.id, t0);
      const during = await evaluate(db, digest, 'production', {
        policy,
        at: new Date(t0.getTime() + 86_400_000),
      });
      assert.equal(during.status, 'approved');
      assert.equal(during.suppressed, 1);
      const afterwards = await evaluate(db, digest, 'production', {
        policy,
        at: new Date(t0.getTime() + 4 * 86_400_000),
      });
      assert.equal(
        afterwards.status,
        'suspended',
        'expired: the finding counts again and production refuses',
      );
      assert.equal(afterwards.suppressed, 0);
    });

    it('a re-match ranks an image by the most exposed environment it runs in', async () => {
      const d = `sha256:${'9'.repeat(64)}`;
      assert.deepEqual(await contextOf(db, d), { env: 'production', exposure: 'internet' });
      const deploy = (environment: string) =>
        recordDeployment(db, {
          environment,
          registry: 'r.example',
          repository: 'svc',
          digest: d,
          source: 'test',
        });
      await deploy('dev');
      assert.deepEqual(await contextOf(db, d), { env: 'dev', exposure: 'internal' });
      await deploy('staging');
      assert.deepEqual(await contextOf(db, d), { env: 'staging', exposure: 'internal' });
      await deploy('production');
      assert.deepEqual(await contextOf(db, d), { env: 'production', exposure: 'internet' });
    });

    it('admission refuses an object with more images than it will resolve, touching no registry', async () => {
      const admission = new Admission({
        db,
        box: undefined as never, // never reached: nothing is resolved
        queue: undefined as never,
        policy: { environments: {} },
        dbVersion: () => 'x',
      });
      const containers = Array.from({ length: 500 }, (_, i) => ({
        name: `c${i}`,
        image: `registry.example/a${i}:1`,
      }));
      const r = await admission.review(
        {
          request: {
            uid: 'u',
            operation: 'CREATE',
            kind: { kind: 'Pod' },
            namespace: 'production',
            object: { spec: { containers } },
          },
        },
        true,
      );
      assert.equal(r.response.allowed, false);
      assert.match(r.response.status!.message, /500 images in one object; at most 64/);
    });

    it('admission answers from a stale decision while a slow store is read again; a change clears it', async () => {
      const ttl = 1_000;
      const admission = new Admission({
        db,
        box: undefined as never,
        queue: undefined as never,
        policy: { environments: {} },
        dbVersion: () => 'x',
        decisionTtlMs: ttl,
      });
      // A store that answers the second read only when told, as under a 200k-package report's writes.
      let reads = 0;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const answer = (allowed: boolean) => ({ allowed, status: 'allowed', reasons: [] }) as never;
      (admission as unknown as { verdicts: unknown }).verdicts = {
        decision: async () => {
          reads++;
          if (reads === 2) await gate;
          return answer(reads !== 2);
        },
      };
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      // Answered without waiting for the held read, or this fails (never hangs).
      const ask = () =>
        Promise.race([
          admission.decision(`sha256:${'4'.repeat(64)}`, 'dev').then((d) => d.allowed),
          sleep(ttl / 2).then(() => assert.fail('the review waited for the slow read')),
        ]);
      assert.equal(await ask(), true);
      await sleep(ttl * 1.3); // past its time, within the stale period
      assert.equal(await ask(), true, 'the stale answer, while the store is held');
      assert.equal(reads, 2, 'one read in the background');
      assert.equal(await ask(), true);
      assert.equal(reads, 2, 'a read in flight is shared, not repeated');
      release();
      await sleep(5);
      assert.equal(await ask(), false, 'the answer read meanwhile');
      // Past both periods nothing stale is answered: the store is read again (and waited for).
      await sleep(ttl * 2.2);
      assert.equal(await ask(), true);
      assert.equal(reads, 3);
      // A change clears it at once: the next review reads, never the old answer.
      admission.invalidate();
      await ask();
      assert.equal(reads, 4);
    });

    it("admission: a digest under another repository does not borrow that repository's exceptions; requireDigest refuses tags", async () => {
      // One vulnerable image, known under two repositories; an exception waives its finding for one.
      const digest = `sha256:${'5'.repeat(64)}`;
      for (const repository of ['waived', 'plain'])
        await recordImage(db, { registry: 'r.example', repository, digest });
      await saveScan(db, {
        digest,
        dbVersion: 'v1',
        source: 'test',
        durationMs: 1,
        result: {
          image: { name: 'x', attestations: [] },
          findings: [fixableHigh('CVE-2024-0501')],
          suppressed: [],
          summary: {
            total: 1,
            bySeverity: { CRITICAL: 0, HIGH: 1, MEDIUM: 0, LOW: 0, UNKNOWN: 0 },
            fixable: 1,
            kev: 0,
            grade: 'D',
            gradeReason: '',
          },
        } as unknown as ScanResult,
      });
      await createException(db, who('dev', 'developer'), {
        vulnerability: 'CVE-2024-0501',
        repository: 'r.example/waived',
        environments: ['dev'],
        reason: 'test',
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      });
      const admission = new Admission({
        db,
        box: undefined as never, // never reached: nothing is resolved
        queue: undefined as never,
        policy: {
          environments: {
            dev: { rules: [{ id: 'no-high', check: 'vulnerabilities', severity: 'HIGH', with: {} }] },
          },
        },
        dbVersion: () => 'x',
      });
      const ask = async (image: string, mutate = false) =>
        (
          await admission.review(
            {
              request: {
                uid: 'u',
                operation: 'CREATE',
                kind: { kind: 'Pod' },
                namespace: 'dev',
                object: { spec: { containers: [{ name: 'c', image }] } },
              },
            },
            false,
            mutate,
          )
        ).response;
      // Both orders: the first answer is cached, and must not answer for the other repository.
      assert.equal((await ask(`r.example/waived@${digest}`)).allowed, true);
      const plain = await ask(`r.example/plain@${digest}`);
      assert.equal(plain.allowed, false);
      assert.match(plain.status!.message, /CVE-2024-0501/);
      admission.invalidate();
      assert.equal((await ask(`r.example/plain@${digest}`)).allowed, false);
      const waived = await ask(`r.example/waived@${digest}`, true);
      assert.equal(waived.allowed, true);
      assert.equal(waived.patch, undefined, 'an image named by digest needs no patch');

      // requireDigest: a tag is refused before anything resolves it.
      await db.k
        .updateTable('environments')
        .set({ gate: JSON.stringify({ requireDigest: true }) })
        .where('name', '=', 'dev')
        .execute();
      admission.invalidate();
      for (const mutate of [false, true]) {
        const r = await ask('r.example/waived:1.0', mutate);
        assert.equal(r.allowed, false);
        assert.match(r.status!.message, /r\.example\/waived:1\.0: dev admits images by digest only/);
        assert.equal(r.patch, undefined);
      }
      assert.equal((await ask(`r.example/waived@${digest}`)).allowed, true);
      await db.k.updateTable('environments').set({ gate: null }).where('name', '=', 'dev').execute();
    });

    it('a re-match that makes a running image newly fail its policy raises one alert', async () => {
      const digest = `sha256:${'7'.repeat(64)}`;
      const box = SecretBox.fromEnvOrFile(join(tmp, 'secret-policy.key'));
      await addChannel(db, box, { type: 'webhook', target: 'http://127.0.0.1:9/policy' });
      await recordDeployment(db, {
        environment: 'production',
        registry: 'r.example',
        repository: 'shop',
        digest,
        source: 'test',
      });
      const result = (ids: string[]) =>
        ({
          image: { name: 'shop', attestations: [] },
          findings: ids.map(fixableHigh),
          packages: [],
          suppressed: [],
        }) as unknown as ScanResult;
      const policy: Policy = {
        environments: {
          production: { rules: [{ id: 'no-high', check: 'vulnerabilities', severity: 'HIGH', with: {} }] },
        },
      };
      const before = result(['CVE-2025-1']);
      assert.equal(
        await alertNewPolicyFailures(db, policy, digest, 'v2', before, result(['CVE-2025-1'])),
        0,
        'nothing new',
      );
      assert.equal(
        await alertNewPolicyFailures(db, policy, digest, 'v3', before, result(['CVE-2025-1', 'CVE-2025-2'])),
        1,
      );
      assert.equal(
        await alertNewPolicyFailures(db, policy, digest, 'v3', before, result(['CVE-2025-1', 'CVE-2025-2'])),
        0,
        'once',
      );
      const a = await db.k
        .selectFrom('alerts')
        .selectAll()
        .where('kind', '=', 'policy')
        .executeTakeFirstOrThrow();
      assert.match(
        a.summary ?? '',
        /r\.example\/shop@sha256:7+ running in production now fails its policy: no-high: CVE-2025-2/,
      );
      await db.k.deleteFrom('alerts').execute();
      await db.k.deleteFrom('channels').execute();
    });

    it('exceptions apply until they expire, need sign-off where asked, and warn once before expiry', async () => {
      const t0 = new Date('2027-01-10T00:00:00Z');
      const dev = who('dev', 'developer');
      await assert.rejects(
        createException(db, dev, { vulnerability: 'CVE-1', reason: 'r', expiresAt: '2027-01-01' }, t0),
        /in the past/,
      );
      await assert.rejects(
        createException(
          db,
          dev,
          { rule: 'x', vulnerability: 'CVE-1', reason: 'r', expiresAt: '2027-02-01' },
          t0,
        ),
        /not both/,
      );
      const e = await createException(
        db,
        dev,
        {
          vulnerability: 'CVE-2019-14697',
          package: 'musl',
          environments: ['production'],
          reason: 'probe only',
          expiresAt: '2027-01-20T00:00:00Z',
        },
        t0,
      );
      assert.equal(e.state, 'pending');
      await assert.rejects(
        signOffException(db, who('stg', 'approver', ['staging']), e.id, t0),
        /approver for production/,
      );
      const ok = await signOffException(db, who('prod', 'approver', ['production']), e.id, t0);
      assert.equal(ok.state, 'active');
      const img = { repository: 'r.example/app', digest: `sha256:${'a'.repeat(64)}` };
      const finding = {
        id: 'CVE-2019-14697',
        aliases: [],
        package: { name: 'musl', version: '1.1.18-r3', type: 'apk', purl: 'pkg:apk/alpine/musl@1.1.18-r3' },
      } as unknown as Finding;
      const at = (iso: string) => new Date(iso);
      assert.equal((await activeExceptions(db, img, 'production', at('2027-01-15T00:00:00Z'))).length, 1);
      assert.equal((await activeExceptions(db, img, 'staging', at('2027-01-15T00:00:00Z'))).length, 0);
      const applied = applyExceptions(
        [finding],
        await activeExceptions(db, img, 'production', at('2027-01-15T00:00:00Z')),
      );
      assert.equal(applied.suppressed[0].suppression.by, 'exception');
      assert.equal((await activeExceptions(db, img, 'production', at('2027-01-20T00:00:01Z'))).length, 0);

      // Seven days before expiry (production's default warning), one notice per channel, once.
      const box = SecretBox.fromEnvOrFile(join(tmp, 'secret.key'));
      await addChannel(db, box, { type: 'webhook', target: 'http://127.0.0.1:9/hook' });
      assert.equal((await expiringExceptions(db, at('2027-01-12T00:00:00Z'))).length, 0);
      assert.equal(await alertExpiringExceptions(db, at('2027-01-13T00:00:01Z')), 1);
      assert.equal(await alertExpiringExceptions(db, at('2027-01-14T00:00:00Z')), 0);
      const alert = await db.k
        .selectFrom('alerts')
        .selectAll()
        .where('kind', '=', 'exception-expiry')
        .executeTakeFirstOrThrow();
      assert.match(alert.summary ?? '', /CVE-2019-14697 in musl .* \(in 7 days\) in production: probe only/);
    });
  });
}

describe('cosign payloads', () => {
  const digest = `sha256:${'b'.repeat(64)}`;
  const payload = simpleSigningPayload('r.example/app', digest);
  for (const kind of ['ec', 'ed25519'] as const) {
    it(`${kind}: a signature by a trusted key of this digest verifies, nothing else does`, () => {
      const k =
        kind === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const keys = [trustedKey(k.publicKey.export({ type: 'spki', format: 'pem' }).toString())];
      const sig = sign(kind === 'ec' ? 'sha256' : null, payload, k.privateKey).toString('base64');
      assert.equal(checkPayload(payload, sig, digest, keys).verified, true);
      assert.match(
        checkPayload(payload, sig, `sha256:${'c'.repeat(64)}`, keys).problem ?? '',
        /not this image/,
      );
      const altered = Buffer.from(payload.toString().replace('r.example', 'evil.example'));
      assert.equal(checkPayload(altered, sig, digest, keys).verified, false);
      const bySomeoneElse = sign('sha256', payload, other.privateKey).toString('base64');
      assert.match(checkPayload(payload, bySomeoneElse, digest, keys).problem ?? '', /no trusted key/);
      assert.match(checkPayload(payload, undefined, digest, keys).problem ?? '', /no signature/);
    });
  }
  it('refuses keys cosign does not use', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    assert.throws(
      () => trustedKey(rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString()),
      /unsupported key type rsa/,
    );
    assert.throws(() => trustedKey('nonsense'), /not a PEM public key/);
  });
});

describe(
  'Sigstore bundles (keyless), against a private Sigstore made here',
  { skip: has('openssl') ? false : 'openssl is needed' },
  () => {
    const WORKFLOW = 'https://github.com/org/app/.github/workflows/release.yml@refs/heads/main';
    const ACTIONS = 'https://token.actions.githubusercontent.com';
    const digest = `sha256:${'e'.repeat(64)}`;
    let dir: string;
    let store: TestSigstore;
    let v: ReturnType<typeof keylessVerifier>;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'customs-sigstore-'));
      store = new TestSigstore(dir);
      v = keylessVerifier(store.trustedRoot(), [{ subject: 'https://github.com/org/*', issuer: ACTIONS }]);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));
    const bundle = (d: string, who = WORKFLOW, o = {}, by = store) =>
      JSON.parse(by.bundle(d, who, ACTIONS, o).toString());

    it('verifies a bundle by an allowed identity about this digest', () => {
      const r = verifyBundle(bundle(digest), digest, v);
      assert.equal(r.verified, true, r.problem);
      assert.equal(r.subject, WORKFLOW);
      assert.equal(r.issuer, ACTIONS);
    });
    it('refuses another identity, another image, an altered payload and a foreign CA', () => {
      assert.match(
        verifyBundle(
          bundle(digest, 'https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main'),
          digest,
          v,
        ).problem ?? '',
        /not an allowed identity/,
      );
      assert.match(
        verifyBundle(bundle(`sha256:${'f'.repeat(64)}`), digest, v).problem ?? '',
        /about another image/,
      );
      assert.match(
        verifyBundle(bundle(digest, WORKFLOW, { tamper: true }), digest, v).problem ?? '',
        /does not verify/,
      );
      // Logged after the short-lived certificate expired: not valid when it was signed.
      assert.match(
        verifyBundle(bundle(digest, WORKFLOW, { loggedAfterSeconds: 30 * 3600 }), digest, v).problem ?? '',
        /does not verify/,
      );
      const other = new TestSigstore(mkdtempSync(join(dir, 'other-')));
      assert.match(
        verifyBundle(bundle(digest, WORKFLOW, {}, other), digest, v).problem ?? '',
        /does not verify/,
      );
      assert.throws(() => keylessVerifier('{"mediaType":"x"}', []), /names no certificate authority/);
    });
  },
);

describe('admission objects and trust rules', () => {
  it('finds every image of every workload kind, init and ephemeral containers included', () => {
    const spec = {
      initContainers: [{ image: 'a' }],
      containers: [{ image: 'b' }, { image: 'a' }],
      ephemeralContainers: [{ image: 'c' }],
    };
    assert.deepEqual(imagesOf(podSpecOf('Pod', { spec })!), ['a', 'b', 'c']);
    for (const k of ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'])
      assert.deepEqual(imagesOf(podSpecOf(k, { spec: { template: { spec } } })!), ['a', 'b', 'c'], k);
    assert.deepEqual(
      imagesOf(podSpecOf('CronJob', { spec: { jobTemplate: { spec: { template: { spec } } } } })!),
      ['a', 'b', 'c'],
    );
    assert.equal(podSpecOf('ConfigMap', {}), undefined);
  });
  it('the shipped webhook configuration sends exactly the kinds the webhook reads', () => {
    const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy/admission/webhook.yaml'), 'utf8')).map(
      (d) => d.toJSON(),
    );
    const hook = docs.find((d) => d.kind === 'ValidatingWebhookConfiguration').webhooks[0];
    assert.equal(hook.clientConfig.service.path, '/admission/validate');
    assert.deepEqual(hook.admissionReviewVersions, ['v1']);
    const resources = hook.rules.flatMap((r: { resources: string[] }) => r.resources);
    const kinds: Record<string, string> = {
      pods: 'Pod',
      replicationcontrollers: 'ReplicationController',
      deployments: 'Deployment',
      statefulsets: 'StatefulSet',
      daemonsets: 'DaemonSet',
      replicasets: 'ReplicaSet',
      jobs: 'Job',
      cronjobs: 'CronJob',
    };
    const spec = { containers: [{ image: 'x' }] };
    const any = { spec: { ...spec, template: { spec }, jobTemplate: { spec: { template: { spec } } } } };
    for (const [resource, kind] of Object.entries(kinds)) {
      assert.ok(resources.includes(resource), resource);
      assert.deepEqual(imagesOf(podSpecOf(kind, any) ?? {}), ['x'], kind);
    }
    const manifests = parseAllDocuments(
      readFileSync(join(ROOT, 'deploy/admission/customs.yaml'), 'utf8'),
    ).map((d) => d.toJSON());
    const app = manifests.find((d) => d.kind === 'Deployment');
    assert.ok(app.spec.template.spec.containers[0].args.includes('--tls-cert=/etc/customs/tls/tls.crt'));
    // The cluster inventory runs as a service account that may list Pods and nothing more.
    assert.ok(app.spec.template.spec.containers[0].args.includes('--kube-inventory=in-cluster'));
    const role = manifests.find((d) => d.kind === 'ClusterRole');
    assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]);
    const binding = manifests.find((d) => d.kind === 'ClusterRoleBinding');
    assert.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: app.spec.template.spec.serviceAccountName, namespace: 'customs' },
    ]);
  });
  it('pins images admitted by tag with a JSON Patch at their place in every workload kind', () => {
    const pinned = new Map([
      ['r.example/app:1.0', `r.example/app@sha256:${'a'.repeat(64)}`],
      ['busybox', `docker.io/library/busybox@sha256:${'b'.repeat(64)}`],
    ]);
    const spec = () => ({
      initContainers: [{ name: 'i', image: 'busybox' }],
      containers: [
        { name: 'a', image: 'r.example/app:1.0' },
        { name: 'b', image: `r.example/other@sha256:${'c'.repeat(64)}` },
      ],
      ephemeralContainers: [{ name: 'e', image: 'r.example/app:1.0' }],
    });
    const objects: Record<string, object> = {
      Pod: { spec: spec() },
      Deployment: { spec: { template: { spec: spec() } } },
      CronJob: { spec: { jobTemplate: { spec: { template: { spec: spec() } } } } },
    };
    for (const [kind, o] of Object.entries(objects)) {
      const patch = digestPatch(kind, podSpecOf(kind, o)!, pinned);
      assert.equal(patch.length, 3, kind);
      const out = applyPatch(structuredClone(o), patch, true, false).newDocument;
      assert.deepEqual(imagesOf(podSpecOf(kind, out)!), [
        `docker.io/library/busybox@sha256:${'b'.repeat(64)}`,
        `r.example/app@sha256:${'a'.repeat(64)}`,
        `r.example/other@sha256:${'c'.repeat(64)}`,
      ]);
    }
  });
  it('the shipped mutating webhook sends Pods to /admission/mutate and runs again after others', () => {
    const hook = parseAllDocuments(readFileSync(join(ROOT, 'deploy/admission/mutating-webhook.yaml'), 'utf8'))
      .map((d) => d.toJSON())
      .find((d) => d.kind === 'MutatingWebhookConfiguration').webhooks[0];
    assert.equal(hook.clientConfig.service.path, '/admission/mutate');
    assert.equal(hook.reinvocationPolicy, 'IfNeeded');
    assert.deepEqual(hook.rules[0].resources, ['pods', 'pods/ephemeralcontainers']);
  });
  it('bounds the depth of request bodies before parsing, brackets in strings aside', () => {
    assert.equal(jsonDepth(Buffer.from('{"a":[{"b":"[[[[\\"]]"}]}')), 3);
    assert.equal(jsonDepth(Buffer.from('['.repeat(100_000))), MAX_JSON_DEPTH + 1);
    assert.throws(() => parseJsonBody(Buffer.from(`${'['.repeat(65)}${']'.repeat(65)}`)), /deeper than 64/);
    let nested: unknown = [];
    for (let d = 1; d < 64; d++) nested = [nested];
    assert.deepEqual(parseJsonBody(Buffer.from(`${'['.repeat(64)}${']'.repeat(64)}`)), nested);
    assert.throws(() => parseJsonBody(Buffer.from('{"a":')), /not valid JSON/);
    assert.equal(
      loggedUrl('/webhooks/dockerhub?secret=abc&x=1'),
      '/webhooks/dockerhub?secret=[redacted]&x=[redacted]',
    );
    assert.equal(loggedUrl('/api/v1/images'), '/api/v1/images');
  });
  it('maps namespaces: configured lists first, then the same name', () => {
    const gates = new Map([
      ['production', { ...gateOf('production', null), namespaces: ['shop'] }],
      ['staging', gateOf('staging', null)],
    ]);
    assert.equal(environmentOfNamespace(gates, 'shop'), 'production');
    assert.equal(environmentOfNamespace(gates, 'staging'), 'staging');
    assert.equal(environmentOfNamespace(gates, 'kube-system'), undefined);
  });
  it('checks provenance against builder and source patterns', () => {
    assert.ok(
      globMatch(
        'https://github.com/org/*',
        'https://github.com/org/app/.github/workflows/build.yml@refs/heads/main',
      ),
    );
    assert.ok(!globMatch('https://github.com/org/*', 'https://github.com/evil/org/app'));
    const rules = { builders: ['https://github.com/actions/runner*'], sources: ['https://github.com/org/*'] };
    assert.equal(
      provenanceProblem(
        [{ builder: 'https://github.com/actions/runner/v2', sourceRepo: 'https://github.com/org/app' }],
        rules,
      ),
      undefined,
    );
    assert.match(
      provenanceProblem(
        [{ builder: 'https://evil/builder', sourceRepo: 'https://github.com/org/app' }],
        rules,
      ) ?? '',
      /not trusted/,
    );
    assert.match(provenanceProblem([], rules) ?? '', /no SLSA provenance/);
    assert.equal(provenanceProblem([], { builders: [], sources: [] }), undefined);
  });
});
