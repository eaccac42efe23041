/* eslint-disable @typescript-eslint/no-explicit-any -- API answers are checked against the OpenAPI document, not typed here */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { openDb, type Db } from '../../src/store/db.js';
import { holds, putVerdict, staleVerdicts, verdictGeneration } from '../../src/store/verdicts.js';
import { STAGED_POLICY, importAlpineDb } from '../helpers/gate-setup.js';
import { hasChromium, launchChromium } from '../helpers/browser.js';
import { alpineMuslLayer, ociLayout, rootfsLayer } from '../helpers/image-writer.js';
import { CLI, shared } from '../helpers/paths.js';
import { describeStores, freshStore, itStores, type TestStore } from '../helpers/stores.js';
import { freePort } from '../helpers/registry.js';
import { customs, customsAsync } from '../helpers/run.js';
import { Api, CustomsServer, makeToken, waitFor } from '../helpers/server.js';

// The overview from stored verdicts, over HTTP on both stores: CI reports of real layers (musl
// with a fixable CVE, an Alpine release the database does not cover) matched by the server's own
// worker, deployments through the API and the admission webhook, approvals and exceptions through
// the API; the verdict must follow every change at once.

const POLICY = STAGED_POLICY;

let tmp: string;
let vulndb: string;
const PASSWORD = 'root-correct-horse-battery';
const layouts: Record<string, string> = {};

// One suite around the rest: its hooks frame every engine's round (root-level hooks did not).
describe('the overview from stored verdicts', { timeout: 600_000 }, () => {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-overview-'));
    vulndb = join(tmp, 'vuln.db');
    importAlpineDb(vulndb);
    writeFileSync(join(tmp, 'policy.yaml'), YAML.stringify(POLICY));
    const layout = (name: string, layer: Buffer) => {
      layouts[name] = join(tmp, 'layouts', name);
      ociLayout(layouts[name], { layers: [layer], tag: 'latest' });
    };
    layout('api', await alpineMuslLayer('1.1.18-r3'));
    layout(
      'legacy',
      await rootfsLayer(readFileSync(shared('images/alpine/alpine-minirootfs-3.16.9-x86_64.tar.gz'))),
    );
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('stored verdicts: a computation that raced a gate change is not kept', () => {
    itStores('putVerdict refuses a row judged before the generation moved on', {}, async (engine) => {
      const unit = await freshStore(engine, join(tmp, `unit-${engine}`), 'overview_unit');
      const db: Db = await openDb(unit.where);
      try {
        const g = await verdictGeneration(db);
        const row = {
          environment: 'production',
          repository: 'r.local/a',
          digest: `sha256:${'a'.repeat(64)}`,
          generation: g,
          scan_id: null,
          scan_at: null,
          policy: 'p',
          valid_until: null,
          computed_at: new Date().toISOString(),
          allowed: 0,
          status: 'not-scanned',
          data: '{}',
          summary: '{}',
          stale_since: null,
        };
        assert.equal(await putVerdict(db, row), true);
        await staleVerdicts(db, { environments: ['production'], digest: row.digest });
        assert.equal(await verdictGeneration(db), g + 1);
        const left = await db.k.selectFrom('verdicts').selectAll().execute();
        assert.equal(left.length, 1);
        assert.ok(left[0].stale_since, 'the change marked the row it touches');
        assert.equal(holds(left[0], undefined, 'p'), false, 'a marked row never holds');
        assert.equal(holds({ ...left[0], stale_since: null }, undefined, 'p'), true);
        assert.equal(await putVerdict(db, row), false, 'judged at the old generation: not stored');
        assert.ok(
          (await db.k.selectFrom('verdicts').select('stale_since').executeTakeFirstOrThrow()).stale_since,
          'still marked',
        );
      } finally {
        await db.close();
        await unit.drop();
      }
    });
  });

  describeStores('the overview', { timeout: 240_000 }, (engine) => {
    let server: CustomsServer;
    const api: Record<string, Api> = {};
    const digest: Record<string, string> = {};
    let storeArgs: string[];
    let st: TestStore;

    const overview = async () => {
      const r = await api.admin.get('/api/v1/overview');
      assert.equal(r.status, 200);
      return r.body as any[];
    };
    const envOf = async (name: string) => (await overview()).find((e) => e.name === name);

    async function report(name: string, repository: string): Promise<string> {
      const r = await customsAsync(
        [
          'image',
          `oci:${layouts[name]}:latest`,
          '--format',
          'json',
          '-q',
          '--report-to',
          server.url,
          '--token',
          api.dev.token!,
        ],
        { env: { CUSTOMS_DB: vulndb, CUSTOMS_REPORT_REPOSITORY: repository } },
      );
      assert.equal(r.status, 0, r.stderr);
      const d = JSON.parse(r.stdout).image.manifestDigest as string;
      await waitFor(
        async () =>
          (await api.admin.get(`/api/v1/images?digest=${d}`)).body.items?.some(
            (i: any) => i.status === 'scanned',
          ),
        60_000,
        `the server's match of ${name}\n${server.log.slice(-2000)}`,
      );
      return d;
    }

    async function admit(image: string, name: string): Promise<any> {
      const r = await api.hook.post('/admission/validate', {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: randomUUID(),
          kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
          namespace: 'production',
          operation: 'CREATE',
          object: {
            metadata: { name, labels: { app: name } },
            spec: { template: { spec: { containers: [{ name, image }] } } },
          },
        },
      });
      assert.equal(r.status, 200);
      return r.body.response;
    }

    before(async () => {
      st = await freshStore(engine, join(tmp, `data-${engine}`), 'overview');
      storeArgs = st.args;
      const port = await freePort();
      const tokens = {
        admin: makeToken(storeArgs, 'admin', ['--name', 'admin']),
        dev: makeToken(storeArgs, 'developer', ['--name', 'pipeline']),
        hook: makeToken(storeArgs, 'admission', ['--name', 'kube-apiserver']),
      };
      const u = spawnSync(
        process.execPath,
        [
          CLI,
          'server',
          'user',
          'create',
          '--name',
          'root',
          '--role',
          'admin',
          '--password-stdin',
          ...storeArgs,
        ],
        { input: `${PASSWORD}\n`, encoding: 'utf8' },
      );
      assert.equal(u.status, 0, u.stderr);
      server = new CustomsServer(
        port,
        [...storeArgs, '--db', vulndb, '--workers', '1', '--policy', join(tmp, 'policy.yaml')],
        { XDG_CACHE_HOME: join(tmp, `cache-${engine}`) },
      );
      await server.start();
      for (const [k, t] of Object.entries(tokens)) api[k] = new Api(server.url, t);
      // Production takes CI reports here: the images are not in a registry the server can pull.
      assert.equal(
        (await api.admin.put('/api/v1/environments/production/gate', { acceptReported: true })).status,
        200,
      );
      digest.api = await report('api', 'registry.local/shop/api:1.0');
      digest.legacy = await report('legacy', 'registry.local/shop/legacy:3.16');
    });
    after(async () => {
      await server?.stop();
      await st?.drop();
    });

    it('a deploy record and the workloads admission recorded for the same digest are one row per workload', async () => {
      const image = `registry.local/shop/api@${digest.api}`;
      // Approved over its fixable CVE: the approval accepts today's failure.
      const a = await api.admin.post('/api/v1/approvals', {
        image,
        environment: 'production',
        decision: 'approve',
        reason: 'musl CVE accepted until the rebuild',
      });
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.equal(
        (await api.dev.post('/api/v1/deployments', { image, environment: 'production' })).status,
        201,
      );
      assert.equal((await admit(image, 'api')).allowed, true);
      assert.equal((await admit(image, 'api-canary')).allowed, true);
      const prod = await envOf('production');
      const rows = prod.running.filter((r: any) => r.digest === digest.api);
      assert.deepEqual(rows.map((r: any) => `${r.namespace}/${r.service}`).sort(), [
        'production/api',
        'production/api-canary',
      ]);
      assert.equal(prod.workloads, 2);
      assert.deepEqual(rows[0].tags, ['1.0']);
    });

    it("the risk number in words: the image page's text, the CLI's --explain line for its riskiest finding", async () => {
      const row = (await envOf('production')).running.find((r: any) => r.digest === digest.api);
      const view = await api.admin.get(`/api/v1/images/${digest.api}/view?environment=production`);
      assert.equal(row.scan.risk, view.body.risk.score);
      assert.equal(row.scan.riskExplanation, view.body.risk.explanation);
      const cli = customs(['image', `oci:${layouts.api}:latest`, '--explain', '-q'], {
        env: { CUSTOMS_DB: vulndb },
      });
      assert.equal(cli.status, 0, cli.stderr);
      const line = cli.stdout
        .split('\n')
        .map((l) => l.trim())
        .find((l) => l.startsWith('risk '));
      assert.ok(line, cli.stdout);
      assert.equal(row.scan.riskExplanation, `the risk of its one finding, CVE-2019-14697 in musl: ${line}`);
      // Search and the image list say the same words from the scan row alone.
      const hits = await api.admin.get(`/api/v1/search?q=${digest.api}`);
      assert.equal(hits.body.items[0].scan.riskExplanation, row.scan.riskExplanation);
      const list = await api.admin.get(`/api/v1/images?digest=${digest.api}`);
      assert.equal(list.body.items[0].scan.riskExplanation, row.scan.riskExplanation);
      assert.equal(list.body.items[0].scan.risk, row.scan.risk);
      const env = await api.admin.get('/api/v1/environments/production');
      const running = env.body.images.find((i: any) => i.digest === digest.api);
      assert.equal(running.scan.riskExplanation, row.scan.riskExplanation);
    });

    it('approved with accepted failures: who accepted them, the grade and its reason, the first fix', async () => {
      const row = (await envOf('production')).running.find((r: any) => r.digest === digest.api);
      assert.equal(row.decision.allowed, true);
      assert.equal(row.decision.status, 'approved');
      assert.equal(row.decision.accepted.count, 1);
      assert.match(row.decision.accepted.by, /admin/);
      // People, not tokens: the name people read beside the identity recorded.
      assert.match(row.decision.accepted.byName, /admin/);
      assert.doesNotMatch(row.decision.accepted.byName, /^token:/);
      assert.ok(row.scan.gradeReason, 'the grade says why');
      assert.equal(row.scan.counts.fixable, 1);
      assert.equal(row.scan.provenance.kind, 'reported');
      assert.match(row.topFix, /upgrade musl 1\.1\.18-r3 → 1\.1\.18-r4 \(fixes CVE-2019-14697\)/);
    });

    it('an Alpine release the database does not cover carries the coverage mark', async () => {
      assert.equal(
        (
          await api.dev.post('/api/v1/deployments', {
            image: `registry.local/shop/legacy@${digest.legacy}`,
            environment: 'dev',
            namespace: 'shop',
            service: 'legacy',
          })
        ).status,
        201,
      );
      const dev = await envOf('dev');
      const row = dev.running.find((r: any) => r.digest === digest.legacy);
      assert.deepEqual(row.scan.uncovered, ['alpine 3.16.9']);
      assert.equal(row.scan.coverage.complete, false);
      assert.match(row.scan.coverage.gaps, /alpine 3\.16\.9: no data/);
      assert.equal(dev.uncovered, 1);
    });

    it('a rejection, then an exception: the verdict follows each change at once', async () => {
      const image = `registry.local/shop/api@${digest.api}`;
      await envOf('production'); // the verdicts are stored now
      assert.equal(
        (
          await api.admin.post('/api/v1/approvals', {
            image,
            environment: 'production',
            decision: 'reject',
            reason: 'the CVE is reachable after all',
          })
        ).status,
        200,
      );
      const prod = await envOf('production');
      let row = prod.running.find((r: any) => r.digest === digest.api);
      assert.equal(row.decision.status, 'rejected');
      assert.equal(prod.notAcceptable, 2);
      assert.equal(prod.running[0].decision.allowed, false, 'not acceptable first');
      // Staging auto-approves what passes: the musl CVE fails it until an exception waives it.
      assert.equal(
        (
          await api.dev.post('/api/v1/deployments', {
            image,
            environment: 'staging',
            namespace: 'shop',
            service: 'api',
          })
        ).status,
        201,
      );
      row = (await envOf('staging')).running[0];
      assert.equal(row.decision.status, 'policy-failed');
      const e = await api.admin.post('/api/v1/exceptions', {
        vulnerability: 'CVE-2019-14697',
        digest: digest.api,
        environments: ['staging'],
        reason: 'not reachable: no user input reaches the affected code',
        expiresAt: new Date(Date.now() + 7 * 86_400_000).toISOString(),
      });
      assert.equal(e.status, 201, JSON.stringify(e.body));
      row = (await envOf('staging')).running[0];
      assert.equal(row.decision.status, 'auto-approved');
      assert.equal(row.decision.exceptions.count, 1);
      assert.equal(row.decision.exceptions.until, e.body.expiresAt);
      // Counted after the exception (what the gate sees), the waived one shown apart.
      assert.equal(row.scan.counts.fixable, 0);
      assert.deepEqual(row.scan.waived, { total: 1, kev: 0, fixable: 1 });
      assert.equal(row.scan.risk, 0);
      assert.equal(
        row.scan.riskExplanation,
        'no findings: nothing adds to the risk (1 suppressed, not counted)',
      );
      const inStaging = await api.admin.get(`/api/v1/images/${digest.api}/view?environment=staging`);
      assert.equal(inStaging.body.summary.fixable, 0);
      assert.equal(inStaging.body.summary.total, 0);
      assert.deepEqual(inStaging.body.waived, { total: 1, kev: 0, fixable: 1 });
      const inProd = await api.admin.get(`/api/v1/images/${digest.api}/view?environment=production`);
      assert.equal(inProd.body.summary.fixable, 1, 'the exception is for staging only');
      assert.deepEqual(inProd.body.waived, { total: 0, kev: 0, fixable: 0 });
      const prodRow = (await envOf('production')).running.find((x: any) => x.digest === digest.api);
      assert.equal(prodRow.scan.counts.fixable, 1);
      assert.equal(prodRow.scan.waived.total, 0);
      const r = await api.admin.post(`/api/v1/exceptions/${e.body.id}/revoke`, { reason: 'reachable' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      row = (await envOf('staging')).running[0];
      assert.equal(row.decision.status, 'policy-failed');
      assert.equal(row.decision.exceptions, null);
      // The decision endpoint and admission read the same stored verdicts.
      const d = await api.admin.get(`/api/v1/images/${digest.api}/decision?environment=staging`);
      assert.equal(d.body.status, 'policy-failed');
    });

    it(
      'in Chromium: the row says it all in text',
      { skip: engine !== 'sqlite' || !hasChromium() },
      async () => {
        const browser = await launchChromium();
        try {
          const page = await browser.newPage();
          await page.goto(server.url);
          await page.getByLabel('User name').fill('root');
          await page.getByLabel('Password').fill(PASSWORD);
          await page.getByRole('button', { name: 'Sign in' }).click();
          await page.getByRole('heading', { name: 'What runs where' }).waitFor();
          const dev = page.locator('section[data-env="dev"]');
          await dev.waitFor();
          // The duplicate-workload case on screen: a deploy record and two admitted workloads of
          // one digest are two rows, one per workload, never the record beside them.
          const prod = page.locator('section[data-env="production"]');
          assert.equal(await prod.locator('[data-count="workloads"]').innerText(), '2 workloads');
          const workloads = await prod
            .locator('tbody tr', { hasText: 'shop/api:1.0' })
            .evaluateAll((trs) => trs.map((t) => (t as any).cells[1].textContent));
          assert.deepEqual(workloads.sort(), ['production/api', 'production/api-canary']);
          const legacy = dev.locator('tbody tr', { hasText: 'shop/legacy:3.16' });
          assert.match(await legacy.innerText(), /not covered/);
          assert.match(await legacy.innerText(), /reported/);
          const staging = page.locator('section[data-env="staging"]');
          assert.match(await staging.locator('.counts').innerText(), /1 workload · 1 not acceptable/);
          const row = staging.locator('tbody tr').first();
          const text = await row.innerText();
          assert.match(text, /shop\/api:1\.0/);
          assert.match(text, /upgrade musl 1\.1\.18-r3 → 1\.1\.18-r4/);
          assert.match(text, /fails the staging policy/);
          // The risk number's words: the API's text on hover (title) and, on keyboard focus, shown.
          const api0 = (await envOf('staging')).running[0];
          const risk = row.locator('[data-risk-explained]');
          assert.equal(await risk.getAttribute('title'), api0.scan.riskExplanation);
          assert.match(api0.scan.riskExplanation, /CVE-2019-14697 in musl: risk \d+: severity/);
          const tip = row.locator('[role="tooltip"]');
          assert.equal(await tip.isVisible(), false);
          await risk.focus();
          assert.equal(await tip.isVisible(), true);
          assert.equal(
            await tip.innerText(),
            `Risk ${api0.scan.risk.toFixed(1)} is ${api0.scan.riskExplanation}.`,
          );
          assert.equal(
            await risk.getAttribute('aria-describedby'),
            await tip.getAttribute('id'),
            'a screen reader reads the words as its description',
          );
          // Search results carry the same words.
          await page.goto(`${server.url}/search?q=shop/api`);
          const hit = page.locator('table.results tbody tr').first();
          await hit.waitFor();
          assert.equal(
            await hit.locator('[data-risk-explained]').getAttribute('title'),
            api0.scan.riskExplanation,
          );
        } finally {
          await browser.close();
        }
      },
    );
  });
});
