/* eslint-disable @typescript-eslint/no-explicit-any -- API answers are checked against the OpenAPI document, not typed here */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import YAML from 'yaml';
import { STAGED_POLICY, importAlpineDb } from '../helpers/gate-setup.js';
import { alpineMuslLayer, makeTar, ociLayout, rootfsLayer } from '../helpers/image-writer.js';
import { cacheDir, CLI, ROOT, shared } from '../helpers/paths.js';
import { freePort, notifyCustoms, Registry, skopeoCopy } from '../helpers/registry.js';
import { has } from '../helpers/run.js';
import { Api, CustomsServer, makeToken, waitFor } from '../helpers/server.js';
import { hasChromium, launchChromium } from '../helpers/browser.js';
import { describeStores, freshStore, type TestStore } from '../helpers/stores.js';

// The dashboard as a security lead uses it: Debian's Chromium driven by playwright-core against a
// `customs server` seeded through its real API and real scans (images pushed by skopeo to Debian's
// docker-registry). Screenshots land in .cache/test/screenshots. The page flows run once, on
// PostgreSQL (SQLite where there is none): a second Chromium round would add about two minutes to
// the suite, and the API beneath the pages runs on both stores in the server tests.
const skip = !hasChromium()
  ? 'Debian chromium is not installed'
  : !has('docker-registry') || !has('skopeo')
    ? 'docker-registry and skopeo are needed'
    : false;

let tmp: string;
let store: TestStore;
let reg: Registry;
let server: CustomsServer;
let browser: Browser;
const tok: Record<string, string> = {};
const api: Record<string, Api> = {};
const digest: Record<string, string> = {};
const consoleErrors: string[] = [];
const shots = cacheDir('screenshots');
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

const POLICY = STAGED_POLICY;

async function push(
  name: string,
  layer: Buffer,
  ref: string,
  labels?: Record<string, string>,
): Promise<string> {
  const dir = join(tmp, 'layouts', name);
  const { manifestDigest } = ociLayout(dir, { layers: [layer], tag: 'latest', labels });
  skopeoCopy(`oci:${dir}:latest`, `docker://${reg.host}/${ref}`);
  await waitFor(
    async () =>
      (await api.admin.get(`/api/v1/images?digest=${manifestDigest}`)).body.items?.some(
        (i: any) => i.status === 'scanned',
      ),
    60_000,
    `a scan of ${ref}`,
  );
  return manifestDigest;
}

function user(name: string, role: string, environments?: string): void {
  const r = spawnSync(
    process.execPath,
    [
      CLI,
      'server',
      'user',
      'create',
      '--name',
      name,
      '--role',
      role,
      ...(environments ? ['--environments', environments] : []),
      '--password-stdin',
      ...store.args,
    ],
    { input: `${name}-correct-horse-battery\n`, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
}

async function signedIn(name: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`${name}: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`${name}: ${e.message}`));
  await page.goto(server.url);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(`${name}-correct-horse-battery`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'What runs where' }).waitFor();
  return page;
}

async function admission(image: string): Promise<any> {
  const r = await api.hook.post('/admission/validate', {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      namespace: 'production',
      operation: 'CREATE',
      object: { metadata: { name: 'web' }, spec: { containers: [{ name: 'web', image }] } },
    },
  });
  assert.equal(r.status, 200);
  return r.body.response;
}

describeStores('the dashboard in Chromium', { skip, timeout: 300_000 }, (engine) => {
  before(async () => {
    consoleErrors.length = 0;
    tmp = mkdtempSync(join(tmpdir(), 'customs-dashboard-'));
    mkdirSync(shots, { recursive: true });
    store = await freshStore(engine, join(tmp, 'data'), 'dashboard');
    const vulndb = join(tmp, 'vuln.db');
    importAlpineDb(vulndb);
    const policy = join(tmp, 'policy.yaml');
    writeFileSync(policy, YAML.stringify(POLICY));
    const port = await freePort();
    tok.registry = makeToken(store.args, 'webhook', ['--name', 'registry']);
    tok.admin = makeToken(store.args, 'admin', ['--name', 'admin']);
    tok.dev = makeToken(store.args, 'developer', ['--name', 'pipeline']);
    tok.hook = makeToken(store.args, 'admission', ['--name', 'kube-apiserver']);
    user('alice', 'approver', 'production,staging');
    user('bob', 'developer');
    user('root', 'admin');
    user('vera', 'viewer');
    reg = new Registry(join(tmp, 'registry'), await freePort(), '', notifyCustoms(port, tok.registry, 5));
    await reg.start();
    server = new CustomsServer(port, [...store.args, '--db', vulndb, '--workers', '2', '--policy', policy]);
    await server.start();
    for (const [k, t] of Object.entries(tok)) api[k] = new Api(server.url, t);
    assert.equal(
      (await api.admin.post('/api/v1/registries', { url: `http://${reg.host}`, insecure: true })).status,
      201,
    );
    digest.clean = await push(
      'clean',
      await makeTar([{ name: 'etc/marker', content: 'clean' }]),
      'shop/web:1.0',
    );
    digest.musl = await push(
      'musl',
      await alpineMuslLayer('1.1.18-r3', [{ name: 'etc/marker', content: 'api 1.0' }]),
      'shop/api:1.0',
    );
    digest.fixed = await push(
      'fixed',
      await alpineMuslLayer('1.1.18-r4', [{ name: 'etc/marker', content: 'api 1.1' }]),
      'shop/api:1.1',
    );
    digest.other = await push(
      'other',
      await alpineMuslLayer('1.1.18-r3', [{ name: 'etc/marker', content: 'batch' }]),
      'shop/batch:2.0',
    );
    // Alpine 3.16: the imported secdb (v3.3–v3.11) has nothing for it, so "0 findings" is not a pass.
    digest.legacy = await push(
      'legacy',
      await rootfsLayer(readFileSync(shared('images/alpine/alpine-minirootfs-3.16.9-x86_64.tar.gz'))),
      'shop/legacy:3.16',
    );
    // A base image of a newer Alpine release in the same registry: the musl image's candidate.
    digest.alpine310 = await push(
      'alpine310',
      await rootfsLayer(readFileSync(shared('images/alpine/alpine-minirootfs-3.10.9-x86_64.tar.gz'))),
      'library/alpine:3.10',
    );
    const deploy = (d: string, repo: string, environment: string, service: string) =>
      api.dev.post('/api/v1/deployments', {
        image: `${reg.host}/${repo}@${d}`,
        environment,
        namespace: 'shop',
        service,
      });
    assert.equal((await deploy(digest.clean, 'shop/web', 'production', 'web')).status, 201);
    assert.equal((await deploy(digest.musl, 'shop/api', 'staging', 'api')).status, 201);
    assert.equal((await deploy(digest.fixed, 'shop/api', 'staging', 'api')).status, 201);
    assert.equal((await deploy(digest.other, 'shop/batch', 'dev', 'batch')).status, 201);
    assert.equal((await deploy(digest.legacy, 'shop/legacy', 'dev', 'legacy')).status, 201);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await reg?.stop();
    await store?.drop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('an anonymous visitor sees the sign-in page; the overview shows the environments and counts', async () => {
    const anon = await browser.newPage();
    await anon.goto(server.url);
    await anon.getByRole('button', { name: 'Sign in' }).waitFor();
    assert.equal(await anon.getByRole('navigation', { name: 'Main' }).count(), 0);
    await anon.getByLabel('User name').fill('alice');
    await anon.getByLabel('Password').fill('wrong password!!');
    await anon.getByRole('button', { name: 'Sign in' }).click();
    await anon.getByRole('alert').filter({ hasText: 'wrong user name or password' }).waitFor();
    await anon.close();
    consoleErrors.length = 0; // the refused sign-in is logged by the browser as a 401: expected

    const page = await signedIn('alice');
    const sections = await page
      .locator('section.env')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-env')));
    assert.deepEqual(sections, ['production', 'dev', 'staging']);
    const prod = page.locator('section[data-env="production"]');
    assert.equal(await prod.locator('[data-count="workloads"]').innerText(), '1 workload');
    assert.match(await prod.locator('tbody tr').first().innerText(), /shop\/web:1\.0/);
    assert.match(await prod.locator('tbody tr').first().innerText(), /pending/);
    const staging = page.locator('section[data-env="staging"]');
    assert.match(await staging.locator('.changes').innerText(), /1 fixed, 0 introduced/);
    await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true });
    await page.context().close();
  });

  it('empty pages say in a sentence what would fill them, not bare table headers', async () => {
    const page = await signedIn('alice');
    await page.getByRole('link', { name: 'Alerts' }).click();
    assert.match(
      await page.locator('[data-empty="alerts"]').innerText(),
      /^No alerts yet\. An alert is sent when/,
    );
    assert.equal(await page.locator('main table').count(), 0);
    await page.getByRole('link', { name: 'Exceptions' }).click();
    assert.match(
      await page.locator('[data-empty="exceptions"]').innerText(),
      /^No exceptions: every finding counts/,
    );
    assert.equal(await page.locator('main table').count(), 0);
    await page.getByRole('link', { name: 'Approvals' }).click();
    await page.locator('[data-empty="queue"]').waitFor();
    assert.match(await page.locator('[data-empty="decisions"]').innerText(), /^No decisions yet/);
    await page.context().close();
  });

  it('risk in words: each finding and the image total say why, in the text the API sends', async () => {
    const page = await signedIn('alice');
    await page.goto(`${server.url}/images/${digest.musl}?env=staging`);
    await page.getByRole('heading', { name: 'Findings, riskiest first' }).waitFor();
    const view = (await api.admin.get(`/api/v1/images/${digest.musl}/view?environment=staging`)).body;
    const f = view.findings.find((x: any) => x.id === 'CVE-2019-14697');
    // Written once, server-side (rank/explain.ts, the CLI's --explain): severity, exploitation, fix, context.
    assert.match(
      f.risk.explanation,
      /^risk \d+: severity .+: [\d.]+ points; not known to be exploited \(not in KEV, no EPSS score\); a fix is available \(fixed in 1\.1\.18-r4\): \+5; exposure and environment \w+ × \w+: ×[\d.]+$/,
    );
    const row = page.locator('table.findings tr', { hasText: 'CVE-2019-14697' });
    await row.locator('summary').click();
    assert.equal(await row.locator('.risk-why').innerText(), f.risk.explanation);
    assert.match(
      await page.locator('main > p.risk-why').innerText(),
      /^Risk [\d.]+ is (the risk of its one finding|the sum of its \d+ findings' risk scores; the riskiest), CVE-[\d-]+ in \S+: risk \d+: severity /,
    );
    await page.context().close();
  });

  it('base-image candidates: a newer Alpine from the configured registry, with the findings it removes', async () => {
    const page = await signedIn('alice');
    await page.goto(`${server.url}/images/${digest.musl}?env=staging`);
    const c = page.locator(`[data-candidate="${reg.host}/library/alpine:3.10"]`);
    await c.waitFor();
    assert.match(
      await c.innerText(),
      /\(alpine 3\.10\.9, end of life\): removes 1 finding \(CVE-2019-14697 in musl\), carries \d+/,
    );
    // The image of a newer release than any candidate: told where the server looked.
    await page.goto(`${server.url}/images/${digest.legacy}?env=dev`);
    await page.locator('[data-bases]').filter({ hasText: 'No newer base image' }).waitFor();
    assert.match(
      await page.locator('[data-bases]').innerText(),
      new RegExp(`No newer base image of this distribution is scanned yet in ${reg.host}/library/alpine\\.`),
    );
    const api1 = (await api.admin.get(`/api/v1/images/${digest.musl}/base-candidates`)).body;
    assert.deepEqual(api1.looked, [`${reg.host}/library/alpine`]);
    assert.deepEqual(api1.pending, []);
    await page.context().close();
  });

  it("base-image candidates not scanned yet: a viewer's visit queues nothing, a developer's queues them, shown once scanned", async () => {
    // A second registry without notifications: what is pushed there is not scanned until asked.
    const quiet = new Registry(join(tmp, 'registry-quiet'), await freePort());
    await quiet.start();
    try {
      assert.equal(
        (await api.admin.post('/api/v1/registries', { url: `http://${quiet.host}`, insecure: true })).status,
        201,
      );
      const dir = join(tmp, 'layouts', 'quiet-alpine310');
      const { manifestDigest: newer } = ociLayout(dir, {
        layers: [
          await rootfsLayer(readFileSync(shared('images/alpine/alpine-minirootfs-3.10.9-x86_64.tar.gz'))),
          await makeTar([{ name: 'etc/marker', content: 'quiet' }]),
        ],
        tag: 'latest',
      });
      skopeoCopy(`oci:${dir}:latest`, `docker://${quiet.host}/library/alpine:3.10`);
      const ref = `${quiet.host}/library/alpine:3.10`;
      // An Alpine 3.7 image naming its base in the quiet registry (the OCI base-name label).
      digest.based = await push(
        'based',
        await alpineMuslLayer('1.1.18-r3', [{ name: 'etc/marker', content: 'based' }]),
        'shop/based:1.0',
        { 'org.opencontainers.image.base.name': `${quiet.host}/library/alpine:3.7` },
      );
      const path = `/api/v1/images/${digest.based}/base-candidates`;

      const viewer = await signedIn('vera');
      await viewer.goto(`${server.url}/images/${digest.based}`);
      const unscanned = viewer.locator('[data-unscanned]');
      await unscanned.waitFor();
      assert.match(
        await unscanned.innerText(),
        new RegExp(`^Not scanned yet: ${ref.replace(/\./g, '\\.')}\\.`),
      );
      assert.equal(await viewer.locator('[data-pending]').count(), 0);
      await viewer.context().close();
      assert.deepEqual(
        (await api.admin.get(`/api/v1/images?digest=${newer}`)).body.items,
        [],
        "the viewer's visit queued no scan",
      );

      const dev = await signedIn('bob');
      await dev.goto(`${server.url}/images/${digest.based}`);
      const pending = dev.locator('[data-pending]');
      await pending.waitFor();
      assert.equal(await pending.innerText(), `Being scanned, shown when done: ${ref}.`);
      await dev.context().close();
      await waitFor(
        async () =>
          (await api.admin.get(`/api/v1/images?digest=${newer}`)).body.items?.some(
            (i: any) => i.status === 'scanned',
          ),
        60_000,
        `the queued scan of ${ref}\n${server.log.slice(-2000)}`,
      );
      // Scanned now: the next answer ranks it (the kept answer waited for exactly this).
      const after = (await api.dev.get(path)).body;
      assert.deepEqual(after.pending, []);
      const c = after.candidates.find((x: any) => x.image === ref);
      assert.ok(c, JSON.stringify(after));
      assert.equal(c.os, 'alpine 3.10.9');
      assert.deepEqual(c.removed, ['CVE-2019-14697 in musl']);
      // A viewer asking now finds it ranked too, nothing left unscanned.
      const asViewer = await signedIn('vera');
      await asViewer.goto(`${server.url}/images/${digest.based}`);
      await asViewer.locator(`[data-candidate="${ref}"]`).waitFor();
      assert.equal(await asViewer.locator('[data-unscanned]').count(), 0);
      await asViewer.context().close();
    } finally {
      await quiet.stop();
    }
  });

  it('an OS release the database does not cover: the grade is marked on the overview and the image page', async () => {
    const page = await signedIn('alice');
    const dev = page.locator('section[data-env="dev"]');
    assert.equal(await dev.locator('[data-count="uncovered"]').innerText(), '1 not covered by the database');
    const row = dev.locator('tbody tr', { hasText: 'shop/legacy:3.16' });
    assert.match(await row.locator('.grade').innerText(), /^[A-F] not covered$/);
    assert.doesNotMatch(
      await dev.locator('tbody tr', { hasText: 'shop/batch:2.0' }).innerText(),
      /not covered/,
    );
    await page.goto(`${server.url}/images/${digest.legacy}?env=dev`);
    const gap = page.locator('[data-coverage="incomplete"]');
    await gap.waitFor();
    assert.match(
      await gap.innerText(),
      /alpine 3\.16\.9: no data \(the database has Alpine advisories, but none for release 3\.16\.9\)/,
    );
    assert.match(
      await page.locator('p.summary').innerText(),
      /not covered .* 0 findings where the database has data/,
    );
    // Where the result comes from: the server's own pull of the pushed image.
    assert.match(
      await page.locator('p.provenance[data-provenance="server-scan"]').innerText(),
      /^Read by the server itself \(webhook:distribution, /,
    );
    // No findings over an uncovered release: a sentence that says nothing was checked, no bare table.
    assert.match(
      await page.locator('[data-empty="findings"]').innerText(),
      /^No vulnerabilities found where the database has data\. alpine 3\.16\.9: not covered, so nothing was checked there\./,
    );
    assert.equal(await page.locator('table.findings').count(), 0);
    await page.screenshot({ path: join(shots, 'not-covered.png'), fullPage: true });
    // Search results carry the same mark and its reason, never a bare "0 findings".
    await page.getByLabel('Search images, packages or vulnerabilities').fill('shop/legacy');
    await page.keyboard.press('Enter');
    const hit = page.locator(`tr[data-digest="${digest.legacy}"]`);
    await hit.waitFor();
    assert.match(
      await hit.innerText(),
      /[A-F] not covered 0 findings where the database has data — not covered: alpine 3\.16\.9: no data \(the database has Alpine advisories, but none for release 3\.16\.9\)/,
    );
    await page.getByLabel('Search images, packages or vulnerabilities').fill('shop/batch');
    await page.keyboard.press('Enter');
    const covered = page.locator(`tr[data-digest="${digest.other}"]`);
    await covered.waitFor();
    assert.doesNotMatch(await covered.innerText(), /not covered/);
    await page.context().close();
  });

  it('an approver approves an image for production and the admission decision flips', async () => {
    const ref = `${reg.host}/shop/web:1.0`;
    assert.equal((await admission(ref)).allowed, false);
    const page = await signedIn('alice');
    await page.locator('section[data-env="production"] tbody a').first().click();
    await page.getByRole('heading', { name: 'May it run?' }).waitFor();
    await page.getByLabel('Reason for production').fill('release 1.0 reviewed');
    await page.getByRole('button', { name: 'Approve for production' }).click();
    // The approval's own reason: "not approved for production yet" says "approved" too, and waiting
    // on that raced the approval (the admission below came before it, seen on PostgreSQL).
    await page
      .locator('tr[data-decision="production"]')
      .filter({ hasText: 'approved for production by' })
      .waitFor();
    const answer = await admission(ref);
    assert.equal(answer.allowed, true, `${page.url()}: ${JSON.stringify(answer)}`);
    await page.screenshot({ path: join(shots, 'image.png'), fullPage: true });
    await page.context().close();
  });

  it('approved with accepted failures: the overview row says how many, by whom and since when', async () => {
    const image = `${reg.host}/shop/api@${digest.musl}`;
    assert.equal(
      (
        await api.dev.post('/api/v1/deployments', {
          image,
          environment: 'production',
          namespace: 'shop',
          service: 'api',
        })
      ).status,
      201,
    );
    const a = await api.admin.post('/api/v1/approvals', {
      image,
      environment: 'production',
      decision: 'approve',
      reason: 'musl CVE accepted until the rebuild',
    });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    const page = await signedIn('alice');
    const row = page.locator('section[data-env="production"] tbody tr', { hasText: 'shop/api:1.0' });
    const text = await row.innerText();
    assert.match(text, /✓ approved/);
    assert.match(
      text,
      new RegExp(
        `with 1 accepted failure \\(by [^,]*admin[^,]*, ${new Date().toISOString().slice(0, 10)}, until revoked\\)`,
      ),
    );
    assert.doesNotMatch(text, /token:admin#/, 'a person, not a token id');
    // The image page's reasons name the person too.
    await page.goto(`${server.url}/images/${digest.musl}?env=production`);
    const why = await page.locator('tr[data-decision="production"]').innerText();
    assert.match(why, /approved for production by [^\n]*admin/);
    assert.doesNotMatch(why, /token:admin#/);
    assert.match(text, /upgrade musl 1\.1\.18-r3 → 1\.1\.18-r4/);
    await page.context().close();
  });

  it('a developer sees no approve button, and the API refuses the call anyway', async () => {
    const page = await signedIn('bob');
    await page.goto(`${server.url}/images/${digest.musl}?env=production`);
    await page.getByRole('heading', { name: 'May it run?' }).waitFor();
    assert.equal(await page.getByRole('button', { name: /Approve for/ }).count(), 0);
    const req = page.context().request;
    const session = await (await req.get(`${server.url}/api/v1/auth/session`)).json();
    const body = {
      image: `${reg.host}/shop/api@${digest.musl}`,
      environment: 'production',
      decision: 'approve',
      reason: 'x',
    };
    let r = await req.post(`${server.url}/api/v1/approvals`, {
      data: body,
      headers: { 'x-csrf-token': session.csrfToken },
    });
    assert.equal(r.status(), 403);
    assert.match((await r.json()).error.message, /may not approve/);
    // Without the CSRF token a cookie-authenticated change is refused before anything else.
    r = await req.post(`${server.url}/api/v1/exceptions`, {
      data: { vulnerability: 'CVE-1', reason: 'x', expiresAt: '2030-01-01' },
    });
    assert.equal(r.status(), 403);
    assert.equal((await r.json()).error.code, 'csrf');
    await page.context().close();
  });

  it('people, not tokens: a token names who issued it; a viewer is told it may not approve', async () => {
    // root issues a token in the dashboard's API; alice's CLI uses it to approve batch for dev.
    const admin = await signedIn('root');
    const req = admin.context().request;
    const csrf = (await (await req.get(`${server.url}/api/v1/auth/session`)).json()).csrfToken;
    const issued = await req.post(`${server.url}/api/v1/tokens`, {
      data: { name: 'cli', role: 'approver' },
      headers: { 'x-csrf-token': csrf },
    });
    assert.equal(issued.status(), 201);
    const cliToken = (await issued.json()).token;
    const viaToken = await new Api(server.url, cliToken).post('/api/v1/approvals', {
      image: `${reg.host}/shop/batch@${digest.other}`,
      environment: 'dev',
      decision: 'approve',
      reason: 'batch job reviewed',
    });
    assert.equal(viaToken.status, 200, JSON.stringify(viaToken.body));
    assert.equal(viaToken.body.decidedByName, 'root (token cli)');
    // A token issued without a name is called after its issuer.
    const unnamed = await req.post(`${server.url}/api/v1/tokens`, {
      data: { role: 'viewer' },
      headers: { 'x-csrf-token': csrf },
    });
    assert.equal((await unnamed.json()).name, 'root');
    await admin.goto(`${server.url}/approvals`);
    const row = admin.locator('section[aria-labelledby="decisions"] tr', { hasText: 'batch job reviewed' });
    assert.match(await row.innerText(), /root \(token cli\)/);
    await admin.getByRole('link', { name: 'Audit log' }).click();
    await admin.locator('[data-chain="ok"]').waitFor();
    const entry = admin
      .locator('tr', { hasText: 'approval.approve' })
      .filter({ hasText: 'root (token cli)' });
    assert.equal(await entry.count(), 1);
    assert.doesNotMatch(await admin.locator('table').innerText(), /token:cli#/);
    await admin.context().close();

    const viewer = await signedIn('vera');
    const vreq = viewer.context().request;
    const vcsrf = (await (await vreq.get(`${server.url}/api/v1/auth/session`)).json()).csrfToken;
    const refused = await vreq.post(`${server.url}/api/v1/approvals`, {
      data: {
        image: `${reg.host}/shop/web@${digest.clean}`,
        environment: 'production',
        decision: 'approve',
        reason: 'x',
      },
      headers: { 'x-csrf-token': vcsrf },
    });
    assert.equal(refused.status(), 403);
    assert.equal(
      (await refused.json()).error.message,
      'vera (role viewer) may not approve or ask for approvals',
    );
    await viewer.context().close();
  });

  it('an exception with an expiry shows in the image findings as suppressed', async () => {
    const page = await signedIn('alice');
    await page.goto(`${server.url}/images/${digest.musl}?env=staging`);
    await page.getByRole('heading', { name: 'Findings, riskiest first' }).waitFor();
    assert.match(await page.locator('table.findings').innerText(), /CVE-2019-14697/);
    assert.match(
      await page.locator('[data-base]').innerText(),
      /Base image: Alpine Linux 3\.7\.3 — end of life since/,
    );
    await page.getByText('Add an exception').click();
    await page.getByLabel('Vulnerability').fill('CVE-2019-14697');
    await page.getByLabel('Package (optional)').fill('musl');
    await page.getByLabel('Reason', { exact: true }).fill('only a health probe links musl');
    const expires = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel('Expires').fill(expires);
    await page.getByRole('button', { name: 'Add exception for staging' }).click();
    await page.locator('table.suppressed').filter({ hasText: 'CVE-2019-14697' }).waitFor();
    assert.match(
      await page.locator('table.suppressed').innerText(),
      /suppressed by exception: only a health probe links musl/,
    );
    // Its only finding set aside: a sentence says so, with no table of nothing.
    assert.equal(await page.locator('table.findings', { hasText: 'CVE-2019-14697' }).count(), 0);
    assert.match(await page.locator('[data-empty="findings"]').innerText(), /1 suppressed \(below\)\.$/);
    // The risk shown is of what is shown: the suppressed finding no longer counts, and it says so.
    assert.equal(
      await page.locator('main > p.risk-why').innerText(),
      'Risk 0.0 is no findings: nothing adds to the risk (1 suppressed, not counted).',
    );
    // Counted after the exception (what the gate sees in staging), the waived one said apart.
    const summary = await page.locator('main > p.summary').innerText();
    assert.match(
      summary,
      /0 findings \(0 KEV, 0 fixable\) · 1 waived by exceptions in staging \(0 KEV, 1 fixable\)/,
    );
    await page.context().close();
  });

  it('two deployments compared: what was fixed and introduced', async () => {
    const page = await signedIn('alice');
    await page
      .locator('section[data-env="staging"] .changes')
      .getByRole('link', { name: 'compare' })
      .first()
      .click();
    await page.getByRole('heading', { name: 'Fixed (1)' }).waitFor();
    assert.match(
      await page.locator('section[aria-labelledby="fixed"]').innerText(),
      /CVE-2019-14697 in musl 1\.1\.18-r3/,
    );
    assert.match(
      await page.locator('section[aria-labelledby="introduced"]').innerText(),
      /Nothing introduced/,
    );
    // Both risk numbers in words: what the fixed finding weighed, and nothing left after.
    assert.match(
      await page.locator('[data-risk-explained]').innerText(),
      /^Risk [\d.]+ before is the risk of its one finding, CVE-2019-14697 in musl: risk \d+: severity .+\.\nRisk 0\.0 after is no findings: nothing adds to the risk\.$/,
    );
    await page.screenshot({ path: join(shots, 'compare.png'), fullPage: true });
    // Printed, the report keeps its content and drops the navigation.
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('header.top').isVisible(), false);
    assert.equal(await page.getByRole('heading', { name: 'Fixed (1)' }).isVisible(), true);
    await page.pdf({ path: join(shots, 'compare.pdf') });
    await page.context().close();
  });

  it('search finds every image holding a package version, and where each runs', async () => {
    const page = await signedIn('alice');
    await page.getByLabel('Search images, packages or vulnerabilities').fill('musl@1.1.18-r3');
    await page.keyboard.press('Enter');
    // The musl image, the batch image and the image naming its base (the candidates test's).
    await page.getByRole('heading', { name: /3 images for/ }).waitFor();
    const rows = await page
      .locator('table.results tbody tr')
      .evaluateAll((trs) => trs.map((t) => t.getAttribute('data-digest')));
    assert.deepEqual(rows.sort(), [digest.musl, digest.other, digest.based].sort());
    assert.match(await page.locator(`tr[data-digest="${digest.other}"]`).innerText(), /dev/);
    await page.getByLabel('Search images, packages or vulnerabilities').fill('CVE-2019-14697');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /3 images for “CVE-2019-14697”/ }).waitFor();
    await page.screenshot({ path: join(shots, 'search.png'), fullPage: true });
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.locator('[data-chain="ok"]').waitFor();
    assert.match(await page.locator('table').innerText(), /approval\.approve/);
    await page.screenshot({ path: join(shots, 'audit.png'), fullPage: true });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.context().close();
  });

  it('an admin changes an environment gate and issues a token from the settings page', async () => {
    const page = await signedIn('root');
    await page.getByRole('link', { name: 'Settings' }).click();
    const staging = page.locator('fieldset').filter({ hasText: 'staging' });
    // The policy each environment is judged by, from the server's --policy file.
    assert.match(
      await page.locator('[data-rules="production"]').innerText(),
      /no-fixable-vulnerabilities \(vulnerabilities, high\)/,
    );
    // The box shows the stored setting: it turns on once the server has it.
    await staging.getByLabel('Four eyes').click();
    await waitFor(
      async () => (await api.admin.get('/api/v1/environments/staging/gate')).body.fourEyes === true,
      5_000,
      'the gate change',
    );
    await waitFor(
      () => staging.getByLabel('Four eyes').isChecked(),
      5_000,
      'the box to show the stored setting',
    );
    await page.locator('summary', { hasText: 'Issue a token' }).click();
    await page.getByLabel('What it is for').fill('nightly-report');
    await page.getByLabel('Role (viewer, developer, approver, admin, webhook, admission)').fill('viewer');
    await page.getByRole('button', { name: 'Issue a token' }).click();
    const shown = await page.getByRole('status').filter({ hasText: 'shown once' }).innerText();
    const token = /cst_\S+/.exec(shown)![0];
    assert.equal((await new Api(server.url, token).get('/api/v1/images')).status, 200);
    const audit = (await api.admin.get('/api/v1/audit?action=environment.gate')).body;
    assert.match(audit[0].actor, /^user:root$/);
    // A role change: bob becomes an approver (his sessions end; the change is audited).
    await page.getByLabel('Role of bob').selectOption('approver');
    await waitFor(
      async () =>
        (await api.admin.get('/api/v1/users')).body.find((u: any) => u.name === 'bob').role === 'approver',
      5_000,
      'the role change',
    );
    assert.equal((await api.admin.get('/api/v1/audit?action=user.role')).body[0].subject, 'user:bob');
    await page.context().close();
  });

  it('getting started: the three ways in, with this server filled in and a token made on the spot', async () => {
    const page = await signedIn('root');
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('link', { name: 'getting started' }).click();
    await page.getByRole('heading', { name: 'Three ways images reach Customs' }).waitFor();
    assert.match(await page.locator('#snippet-ci').innerText(), /--token \$CUSTOMS_TOKEN$/);
    await page.getByRole('button', { name: 'Create a CI token' }).click();
    const shown = await page.locator('.token-shown').innerText();
    const token = /cst_\S+/.exec(shown)![0];
    assert.equal(
      await page.locator('#snippet-ci').innerText(),
      `customs image registry.example.com/team/app:1.0 --report-to ${server.url} --token ${token}`,
    );
    assert.match(
      await page.locator('#snippet-registry').innerText(),
      new RegExp(`url: ${server.url}/webhooks/distribution`),
    );
    assert.match(
      await page.locator('#snippet-deploy').innerText(),
      /^customs deploy record .* --env production --server /,
    );
    await page.getByRole('button', { name: 'Copy: CI upload command' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(
      await page.evaluate(() => (globalThis as any).navigator.clipboard.readText()),
      await page.locator('#snippet-ci').innerText(),
    );
    // The token works, as a developer, and names its issuer.
    const ci = new Api(server.url, token);
    assert.equal((await ci.get('/api/v1/images')).status, 200);
    const listed = (await api.admin.get('/api/v1/tokens')).body.find((t: any) => t.name === 'ci');
    assert.deepEqual([listed.role, listed.createdBy], ['developer', 'root']);
    await page.context().close();
  });

  it('every page: axe-core finds no serious or critical WCAG A/AA violation, and fits 1366×768 and 390×844', async () => {
    // axe is injected as a script, which the pages' CSP forbids: this context bypasses it.
    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1366, height: 768 } });
    const page = await context.newPage();
    page.on('pageerror', (e) => consoleErrors.push(`axe run: ${e.message}`));
    // Screenshots for docs/dashboard.md when asked (CUSTOMS_DOCS_SCREENSHOTS=1), else beside the others.
    const docShots = process.env.CUSTOMS_DOCS_SCREENSHOTS ? join(ROOT, 'docs/screenshots') : shots;
    mkdirSync(docShots, { recursive: true });
    const axe = async (what: string) => {
      await page.addScriptTag({ path: AXE });
      const violations = await page.evaluate(async () => {
        const g = globalThis as any;
        const r = await g.axe.run(g.document, {
          runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] },
        });
        return r.violations
          .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
          .map((v: any) => `${v.id}: ${v.nodes.length} × ${v.nodes[0]?.target}`);
      });
      assert.deepEqual(violations, [], what);
    };
    /** The body never scrolls sideways: wide tables scroll inside their own box. */
    const fits = async (what: string) => {
      const [scroll, width] = await page.evaluate(() => {
        const root = (globalThis as any).document.documentElement;
        return [root.scrollWidth, root.clientWidth];
      });
      assert.ok(scroll <= width, `${what}: the page is ${scroll} px wide in a ${width} px window`);
    };
    const pages: Array<[string, string, () => Promise<unknown>]> = [
      ['overview', '/', () => page.locator('section[data-env="production"] tbody tr').first().waitFor()],
      [
        'image',
        `/images/${digest.musl}?env=staging`,
        () => page.locator('[data-bases]').filter({ hasText: 'alpine' }).waitFor(),
      ],
      [
        'image-not-covered',
        `/images/${digest.legacy}?env=dev`,
        () => page.locator('[data-coverage="incomplete"]').waitFor(),
      ],
      ['search', '/search?q=musl', () => page.locator('table.results').waitFor()],
      [
        'compare',
        `/compare?from=${digest.musl}&to=${digest.fixed}`,
        () => page.getByRole('heading', { name: 'Fixed (1)' }).waitFor(),
      ],
      ['approvals', '/approvals', () => page.getByRole('heading', { name: 'Decisions' }).waitFor()],
      ['exceptions', '/exceptions', () => page.getByRole('heading', { name: 'Exceptions' }).waitFor()],
      ['alerts', '/alerts', () => page.getByRole('heading', { name: 'Alerts' }).waitFor()],
      ['audit', '/audit', () => page.locator('[data-chain="ok"]').waitFor()],
      ['settings', '/settings', () => page.getByRole('heading', { name: 'API tokens' }).waitFor()],
      [
        'getting-started',
        '/getting-started',
        () => page.getByRole('heading', { name: 'Getting started' }).waitFor(),
      ],
    ];
    await page.goto(server.url);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await axe('sign-in page');
    await fits('sign-in page');
    await page.getByLabel('User name').fill('root');
    await page.getByLabel('Password').fill('root-correct-horse-battery');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'What runs where' }).waitFor();
    for (const [name, path, ready] of pages) {
      await page.setViewportSize({ width: 1366, height: 768 });
      await page.goto(`${server.url}${path}`);
      await ready();
      await axe(name);
      await fits(`${name} at 1366×768`);
      await page.screenshot({ path: join(docShots, `${name}.png`) });
      // A phone loads the page at its own width.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${server.url}${path}`);
      await ready();
      await fits(`${name} at 390×844`);
      if (name === 'image' || name === 'overview')
        await page.screenshot({ path: join(docShots, `${name}-phone.png`) });
    }
    await context.close();
  });

  it('no console errors in any of the runs', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
