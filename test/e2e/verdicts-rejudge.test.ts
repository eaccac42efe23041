/* eslint-disable @typescript-eslint/no-explicit-any -- API answers are read loosely here */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { INLINE_REJUDGE } from '../../src/gate/verdicts.js';
import { openDb } from '../../src/store/db.js';
import { recordDeployment } from '../../src/store/deployments.js';
import { recordImage, saveInventory, saveScan } from '../../src/store/images.js';
import { shared } from '../helpers/paths.js';
import { describeStores, freshStore, type TestStore } from '../helpers/stores.js';
import { freePort } from '../helpers/registry.js';
import { customs } from '../helpers/run.js';
import { Api, CustomsServer, makeToken, waitFor } from '../helpers/server.js';
import { cleanResult } from '../helpers/results.js';

// A change of an environment's gate with more running workloads than a list judges on its request:
// the overview answers with the previous verdicts marked stale, the singleton `verdicts` judges them
// again in the background, and every answer that admits (admission, GET …/decision) already follows
// the change. A real server on loopback, on SQLite and PostgreSQL.

const N = INLINE_REJUDGE + 30;
const digestOf = (i: number) => `sha256:${(i + 1).toString(16).padStart(64, '0')}`;

let tmp: string;
let vulndb: string;

describe('verdicts judged again off the request path after a change of the gate', () => {
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-rejudge-'));
    vulndb = join(tmp, 'vuln.db');
    const imp = customs(['db', 'import', shared('advisories/alpine-secdb'), '--db', vulndb, '-q']);
    assert.equal(imp.status, 0, imp.stderr);
    writeFileSync(join(tmp, 'policy.yaml'), 'environments:\n  staging:\n    rules: []\n');
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describeStores('store', { timeout: 180_000 }, (engine) => {
    let server: CustomsServer;
    let admin: Api;
    let hook: Api;
    let st: TestStore;

    before(async () => {
      st = await freshStore(engine, join(tmp, `data-${engine}`), 'rejudge');
      const storeArgs = st.args;
      // Seeded in the store directly: N scanned images running in staging, each a workload.
      const db = await openDb(st.where);
      try {
        for (let i = 0; i < N; i++) {
          const repository = `team/app${i}`;
          const digest = digestOf(i);
          await recordImage(db, { registry: 'registry.local', repository, digest, tag: 'v1' });
          await saveInventory(db, digest, {
            image: { name: repository } as any,
            packages: [],
            warnings: [],
          });
          await saveScan(db, {
            digest,
            dbVersion: 't',
            source: 'test',
            result: cleanResult(repository),
            durationMs: 1,
          });
          await recordDeployment(db, {
            environment: 'staging',
            registry: 'registry.local',
            repository,
            digest,
            namespace: 'staging',
            service: `svc${i}`,
            source: 'test',
          });
        }
      } finally {
        await db.close();
      }
      const tokens = { admin: makeToken(storeArgs, 'admin'), hook: makeToken(storeArgs, 'admission') };
      server = new CustomsServer(
        await freePort(),
        // The periodic look is far away: only the overview's serving stale rows wakes the pass, so
        // the first overview after the change is sure to find them stale.
        [
          ...storeArgs,
          '--db',
          vulndb,
          '--workers',
          '0',
          '--policy',
          join(tmp, 'policy.yaml'),
          '--rejudge-interval',
          '600',
        ],
        { XDG_CACHE_HOME: join(tmp, `cache-${engine}`) },
      );
      await server.start();
      admin = new Api(server.url, tokens.admin);
      hook = new Api(server.url, tokens.hook);
    });
    after(async () => {
      await server?.stop();
      await st?.drop();
    });

    const staging = async () => {
      const r = await admin.get('/api/v1/overview?limit=20000');
      assert.equal(r.status, 200);
      return (r.body as any[]).find((e) => e.name === 'staging');
    };
    const admit = async (i: number) => {
      const image = `registry.local/team/app${i}@${digestOf(i)}`;
      const r = await hook.post('/admission/validate', {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: randomUUID(),
          kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
          namespace: 'staging',
          operation: 'CREATE',
          object: {
            metadata: { name: `svc${i}` },
            spec: { template: { spec: { containers: [{ name: 'c', image }] } } },
          },
        },
      });
      assert.equal(r.status, 200);
      return r.body.response;
    };

    it('serves the previous verdicts marked stale at once, admits by the new judgement, then shows it', async () => {
      const first = await staging();
      assert.equal(first.workloads, N);
      assert.equal(first.notAcceptable, 0, 'staging approves what passes its (empty) policy');
      assert.equal(first.rejudging, null);
      assert.ok(first.running.every((r: any) => r.rejudgingSince === null && r.decision.allowed));
      assert.equal((await admit(3)).allowed, true);

      // Staging stops approving on its own: every verdict there changes.
      const before = new Date().toISOString();
      const put = await admin.put('/api/v1/environments/staging/gate', { autoApprove: false });
      assert.equal(put.status, 200, JSON.stringify(put.body));

      const during = await staging();
      assert.equal(during.workloads, N, 'every workload is listed while judged again');
      assert.ok(during.rejudging, 'the environment row says its verdicts are being judged again');
      assert.ok(during.rejudging.workloads > INLINE_REJUDGE, JSON.stringify(during.rejudging));
      assert.ok(during.rejudging.since >= before, `${during.rejudging.since} ≥ ${before}`);
      const stale = during.running.filter((r: any) => r.rejudgingSince);
      assert.equal(stale.length, during.rejudging.workloads);
      assert.ok(
        stale.every((r: any) => r.decision.allowed),
        'a stale row shows the previous verdict',
      );

      // What admits never reads a stale row: admission and the decision endpoint judge anew.
      const denied = await admit(5);
      assert.equal(denied.allowed, false, JSON.stringify(denied));
      const d = await admin.get(`/api/v1/images/${digestOf(7)}/decision?environment=staging`);
      assert.equal(d.status, 200);
      assert.equal(d.body.allowed, false, JSON.stringify(d.body));

      // The background pass lands: fresh rows with the new judgement, none marked.
      let now: any;
      await waitFor(
        async () => {
          now = await staging();
          return now.rejudging === null;
        },
        90_000,
        `the verdicts judged again\n${server.log.slice(-2000)}`,
      );
      assert.equal(now.workloads, N);
      assert.equal(now.notAcceptable, N, 'every verdict follows the change');
      assert.ok(now.running.every((r: any) => r.rejudgingSince === null && !r.decision.allowed));
      // By the singleton's pass (its log line follows the last verdict it stored).
      await waitFor(() => /verdicts judged again/.test(server.log), 10_000, 'the pass logged');
      assert.equal((await admit(3)).allowed, false);
    });
  });
});
