/* eslint-disable @typescript-eslint/no-explicit-any -- API answers are checked against the OpenAPI document, not typed here */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { sql } from 'kysely';
import { dockerArchive, ociLayout, makeTar, rootfsLayer } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { freePort, notifyCustoms, Registry, skopeoCopy } from '../helpers/registry.js';
import { customs, customsAsync, has } from '../helpers/run.js';
import { Api, CustomsServer, makeToken, waitFor } from '../helpers/server.js';
import { openDb } from '../../src/store/db.js';
import { createToken } from '../../src/store/auth.js';
import { scanCount } from '../../src/store/images.js';
import { describeStores, freshStore, type Engine, type TestStore } from '../helpers/stores.js';

// `customs server` on embedded SQLite and on PostgreSQL, driven as a user would: Debian's docker-registry notifies
// it of pushes made by skopeo, CI uploads come from the built CLI, and every API answer is checked
// against the server's own OpenAPI document.
const skip =
  !has('docker-registry') || !has('skopeo') ? 'docker-registry and skopeo are not installed' : false;

let tmp: string;
let reg: Registry;
/** A second registry without notifications: what reaches it is seen only through signed webhooks. */
let quiet: Registry;
let server: CustomsServer;
let data: string;
let vulndb: string;
let admin: Api;
let viewer: Api;
let webhookToken: string;
let image1: string;

/** The store of the round: SQLite in the data folder, or a PostgreSQL database of its own. */
let st: TestStore;

const store = () => st.args;
const openStore = () => openDb(st.where);

/** An image whose findings are known: Alpine 3.7.3 (musl CVE-2019-14697 in the secdb) plus a marker layer. */
async function alpineImage(dir: string, marker: string): Promise<string> {
  const base = await rootfsLayer(readFileSync(shared('images/alpine/alpine-minirootfs-3.7.3-x86_64.tar.gz')));
  const extra = await makeTar([{ name: 'etc/marker', content: marker }]);
  return ociLayout(dir, { layers: [base, extra], tag: 'latest' }).manifestDigest;
}

async function scanned(digest: string, ms = 30_000): Promise<any> {
  let found: any;
  await waitFor(
    async () => {
      const r = await admin.get(`/api/v1/images?digest=${digest}`);
      found = r.body.items?.find((i: any) => i.status === 'scanned');
      return !!found;
    },
    ms,
    `a scan of ${digest}\n${server.log.slice(-3000)}`,
  );
  return found;
}

describeStores('customs server', { skip, timeout: 240_000 }, serverTests);

/** One round on one store: the same story, the same assertions. */
function serverTests(engine: Engine): void {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-server-'));
    data = join(tmp, 'data');
    st = await freshStore(engine, data, 'server');
    vulndb = join(tmp, 'vuln.db');
    assert.equal(
      customs(['db', 'import', shared('advisories/alpine-secdb'), shared('kev'), '--db', vulndb, '-q'])
        .status,
      0,
    );
    const port = await freePort();
    webhookToken = makeToken(store(), 'webhook', ['--name', 'registry']);
    const regPort = await freePort();
    reg = new Registry(join(tmp, 'registry'), regPort, '', notifyCustoms(port, webhookToken, 5));
    await reg.start();
    quiet = new Registry(join(tmp, 'quiet'), await freePort());
    await quiet.start();
    server = new CustomsServer(port, [...store(), '--db', vulndb, '--workers', '2']);
    await server.start();
    admin = new Api(server.url, makeToken(store(), 'admin'));
    viewer = new Api(server.url, makeToken(store(), 'viewer'));
    const r = await admin.post('/api/v1/registries', { url: `http://${reg.host}`, insecure: true });
    assert.equal(r.status, 201);
    assert.equal(r.body.host, reg.host);
  });
  after(async () => {
    await server?.stop();
    await reg?.stop();
    await quiet?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    await st?.drop();
  });

  it('serves a valid OpenAPI 3.1 document listing every route', async () => {
    const doc = await admin.load();
    const v = new Validator();
    const res = await v.validate(doc as unknown as Record<string, unknown>);
    assert.equal(res.valid, true, JSON.stringify(res.errors));
    for (const p of [
      '/api/v1/images',
      '/api/v1/images/{digest}',
      '/api/v1/registries',
      '/api/v1/reports',
      '/webhooks/distribution',
      '/webhooks/github',
      '/webhooks/harbor',
      '/webhooks/acr',
      '/webhooks/dockerhub',
      '/healthz',
      '/metrics',
    ])
      assert.ok((doc.paths as object)[p as keyof object], p);
  });

  it('scans an image pushed to the registry, once however often it is pushed', async () => {
    const dir = join(tmp, 'img1');
    mkdirSync(dir);
    image1 = await alpineImage(dir, 'one');
    const t0 = Date.now();
    skopeoCopy(`oci:${dir}:latest`, `docker://${reg.host}/team/app:1.0`);
    const item = await scanned(image1);
    const latency = Date.now() - t0;
    assert.equal(item.repository, 'team/app');
    assert.equal(item.registry, reg.host);
    assert.deepEqual(item.tags, ['1.0']);
    assert.equal(item.platform, 'linux/amd64');
    assert.equal(item.scan.source, 'webhook:distribution');
    assert.ok(item.scan.counts.total >= 1, JSON.stringify(item.scan));
    assert.ok(latency < 15_000, `push to result took ${latency} ms`);

    const detail = await viewer.get(`/api/v1/images/${image1}`);
    assert.equal(detail.status, 200);
    const ids = detail.body.scan.findings.map((f: any) => f.id);
    assert.ok(ids.includes('CVE-2019-14697'), ids.join(','));
    assert.ok(detail.body.packages > 10);

    // The same push again, and again under a second tag: one scan, both tags.
    skopeoCopy(`oci:${dir}:latest`, `docker://${reg.host}/team/app:1.0`);
    skopeoCopy(`oci:${dir}:latest`, `docker://${reg.host}/team/app:stable`);
    await waitFor(
      async () => (await admin.get(`/api/v1/images?digest=${image1}`)).body.items[0]?.tags.length === 2,
      15_000,
      'the second tag',
    );
    await new Promise((r) => setTimeout(r, 1500));
    const db = await openStore();
    try {
      assert.equal(await scanCount(db), 1);
    } finally {
      await db.close();
    }
    const again = await admin.get(`/api/v1/images?repository=team/app`);
    assert.equal(again.body.items.length, 1);
    assert.equal(again.body.items[0].scan.id, item.scan.id);
  });

  it('refuses requests without a valid token, and settings to a viewer', async () => {
    const anon = new Api(server.url);
    assert.equal((await anon.get('/api/v1/images')).status, 401);
    assert.equal((await anon.get('/metrics')).status, 401);
    assert.equal((await new Api(server.url, 'cst_forged').get('/api/v1/images')).status, 401);
    assert.equal((await viewer.get('/api/v1/images')).status, 200);
    const denied = await viewer.post('/api/v1/registries', { url: 'https://evil.example' });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error.code, 'forbidden');
    assert.equal((await viewer.get('/api/v1/registries')).status, 403);

    // Revoked and expired tokens stop working.
    const made = await admin.post('/api/v1/tokens', { name: 'short-lived', role: 'viewer' });
    assert.equal(made.status, 201);
    const temp = new Api(server.url, made.body.token);
    assert.equal((await temp.get('/api/v1/images')).status, 200);
    assert.equal((await admin.del(`/api/v1/tokens/${made.body.id}`)).status, 204);
    assert.equal((await temp.get('/api/v1/images')).status, 401);
    const db = await openStore();
    try {
      const { token } = await createToken(db, {
        name: 'old',
        role: 'admin',
        expiresAt: new Date(Date.now() - 1000).toISOString(),
      });
      assert.equal((await new Api(server.url, token).get('/api/v1/images')).status, 401);
    } finally {
      await db.close();
    }
    // Tokens are listed without their secret; a webhook token cannot read.
    const list = await admin.get('/api/v1/tokens');
    assert.ok(!JSON.stringify(list.body).includes('cst_'));
    assert.equal((await new Api(server.url, webhookToken).get('/api/v1/images')).status, 403);
    // Registry credentials are stored but never returned.
    await admin.post('/api/v1/registries', {
      url: 'https://private.example:5000',
      username: 'bot',
      password: 'hunter2-secret-pw',
    });
    const regs = await admin.get('/api/v1/registries');
    assert.ok(!JSON.stringify(regs.body).includes('hunter2'));
    assert.equal(regs.body.find((r: any) => r.host === 'private.example:5000').hasCredentials, true);
    const rows = await openStore();
    try {
      const stored = JSON.stringify(await rows.k.selectFrom('registries').selectAll().execute());
      assert.ok(stored.includes('private.example:5000') && !stored.includes('hunter2'), stored);
    } finally {
      await rows.close();
    }
    if (engine === 'sqlite')
      assert.ok(!readFileSync(join(data, 'customs.sqlite')).includes('hunter2-secret-pw'));
  });

  it('signs in users by password', async () => {
    const r = customs(
      ['server', 'user', 'create', '--name', 'lead', '--role', 'approver', '--password-stdin', ...store()],
      {},
    );
    // No standard input given: refused with a clear message.
    assert.notEqual(r.status, 0);
    const made = await admin.post('/api/v1/users', {
      name: 'lead',
      role: 'approver',
      password: 'correct horse battery',
    });
    assert.equal(made.status, 201);
    const anon = new Api(server.url);
    assert.equal(
      (await anon.post('/api/v1/auth/login', { username: 'lead', password: 'wrong password!!' })).status,
      401,
    );
    const ok = await anon.post('/api/v1/auth/login', { username: 'lead', password: 'correct horse battery' });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.role, 'approver');
    assert.equal((await new Api(server.url, ok.body.token).get('/api/v1/images')).status, 200);
  });

  it('verifies every webhook before queueing anything', async () => {
    const jobRows = async () => {
      const db = await openStore();
      try {
        // PostgreSQL's queue is pg-boss, in a schema of its own.
        if (engine === 'postgres')
          return Number(
            (await sql<{ n: string }>`select count(*) as n from customs_jobs.job`.execute(db.k)).rows[0].n,
          );
        return (await db.k.selectFrom('jobs').select('key').execute()).length;
      } finally {
        await db.close();
      }
    };
    const jobsBefore = await jobRows();
    const hook = new Api(server.url, webhookToken);
    // Distribution: malformed, no token, a token without the webhook permission, an unknown registry.
    assert.equal((await hook.post('/webhooks/distribution', '{"events": [')).status, 400);
    assert.equal((await hook.post('/webhooks/distribution', { nothing: true })).status, 400);
    const ev = (host: string) => ({
      events: [
        {
          action: 'push',
          target: {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: image1,
            repository: 'team/app',
            url: `http://${host}/v2/team/app/manifests/${image1}`,
            tag: 'x',
          },
          request: { host },
        },
      ],
    });
    assert.equal((await new Api(server.url).post('/webhooks/distribution', ev(reg.host))).status, 401);
    assert.equal((await viewer.post('/webhooks/distribution', ev(reg.host))).status, 403);
    const refused = await hook.post('/webhooks/distribution', ev('169.254.169.254'));
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'registry_not_configured');
    // A crafted repository name never reaches a URL.
    const crafted = ev(reg.host);
    crafted.events[0].target.repository = '../../v2/_catalog';
    assert.equal((await hook.post('/webhooks/distribution', crafted)).status, 400);

    // Registries that sign or carry a secret: configured with one for the local registry.
    const secret = 'a-webhook-secret-of-some-length';
    await admin.post('/api/v1/registries', {
      url: `http://${quiet.host}`,
      insecure: true,
      webhookSecret: secret,
    });
    const dir = join(tmp, 'img-gh');
    mkdirSync(dir);
    const ghImage = await alpineImage(dir, 'github');
    skopeoCopy(`oci:${dir}:latest`, `docker://${quiet.host}/org/ghapp:2.0`);
    const gh = JSON.stringify({
      action: 'published',
      registry_package: {
        name: 'ghapp',
        namespace: 'org',
        package_type: 'CONTAINER',
        package_version: {
          version: ghImage,
          package_url: `${quiet.host}/org/ghapp:2.0`,
          container_metadata: { tag: { name: '2.0', digest: ghImage } },
        },
      },
    });
    const sign = (body: string, key: string) =>
      `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
    const anon = new Api(server.url);
    assert.equal(
      (await anon.post('/webhooks/github', gh, { 'x-hub-signature-256': sign(gh, 'wrong secret') })).status,
      401,
    );
    assert.equal((await anon.post('/webhooks/github', gh)).status, 401);
    assert.equal(
      (
        await anon.post('/webhooks/github', gh.replace('2.0"', '2.1"'), {
          'x-hub-signature-256': sign(gh, secret),
        })
      ).status,
      401,
    );
    assert.equal(await jobRows(), jobsBefore, 'a refused webhook queued a job');
    const ok = await anon.post('/webhooks/github', gh, { 'x-hub-signature-256': sign(gh, secret) });
    assert.equal(ok.status, 202);
    assert.equal((await scanned(ghImage)).repository, 'org/ghapp');

    // Harbor (auth header), ACR (custom header), Docker Hub (secret in the URL).
    const harbor = {
      type: 'PUSH_ARTIFACT',
      occur_at: 1700000000,
      operator: 'ci',
      event_data: {
        resources: [{ digest: ghImage, tag: '2.0', resource_url: `${quiet.host}/org/ghapp:2.0` }],
        repository: { name: 'ghapp', namespace: 'org', repo_full_name: 'org/ghapp', repo_type: 'private' },
      },
    };
    assert.equal((await anon.post('/webhooks/harbor', harbor, { authorization: 'wrong' })).status, 401);
    assert.equal((await anon.post('/webhooks/harbor', harbor, { authorization: secret })).status, 202);
    const acr = {
      id: 'e1',
      timestamp: '2026-11-30T00:00:00Z',
      action: 'push',
      target: {
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        digest: ghImage,
        repository: 'org/ghapp',
        tag: '2.0',
      },
      request: { id: 'r1', host: quiet.host, method: 'PUT', useragent: 'docker' },
    };
    assert.equal((await anon.post('/webhooks/acr', acr, { authorization: 'Bearer nope' })).status, 401);
    assert.equal((await anon.post('/webhooks/acr', acr, { authorization: `Bearer ${secret}` })).status, 202);
    const hub = { push_data: { tag: 'latest', pusher: 'x' }, repository: { repo_name: 'someone/app' } };
    // docker.io is not configured here: refused even with a secret.
    assert.equal((await anon.post('/webhooks/dockerhub?secret=x', hub)).status, 403);
  });

  it('polls watched repositories of registries without webhooks', async () => {
    const dir = join(tmp, 'img-watch');
    mkdirSync(dir);
    const digest = await alpineImage(dir, 'watched');
    skopeoCopy(`oci:${dir}:latest`, `docker://${quiet.host}/polled/app:3.1`);
    assert.equal(
      (await admin.post('/api/v1/watches', { registry: 'unknown.example', repository: 'a/b' })).status,
      404,
    );
    assert.equal(
      (await admin.post('/api/v1/watches', { registry: quiet.host, repository: '../x' })).status,
      400,
    );
    const w = await admin.post('/api/v1/watches', {
      registry: quiet.host,
      repository: 'polled/app',
      intervalSeconds: 1,
    });
    assert.equal(w.status, 201);
    const item = await scanned(digest);
    assert.equal(item.repository, 'polled/app');
    assert.deepEqual(item.tags, ['3.1']);
    assert.equal(item.scan.source, 'poll');
    // A new tag for the same digest is noticed; the digest is not scanned again.
    skopeoCopy(`oci:${dir}:latest`, `docker://${quiet.host}/polled/app:3.1.0`);
    await waitFor(
      async () => (await admin.get(`/api/v1/images?digest=${digest}`)).body.items[0]?.tags.length === 2,
      15_000,
      'the second polled tag',
    );
    assert.equal((await admin.get(`/api/v1/images?digest=${digest}`)).body.items[0].scan.id, item.scan.id);
    const list = await admin.get('/api/v1/watches');
    assert.equal(list.body[0].lastError, null);
    assert.equal((await admin.del(`/api/v1/watches/${w.body.id}`)).status, 204);
    assert.equal((await viewer.get('/api/v1/watches')).status, 403);
  });

  it('takes CI uploads and re-matches them with its own database', async () => {
    const rootfs = join(tmp, 'rootfs');
    mkdirSync(rootfs);
    const { spawnSync } = await import('node:child_process');
    spawnSync('tar', ['xzf', shared('images/alpine/alpine-minirootfs-3.7.3-x86_64.tar.gz'), '-C', rootfs]);
    const dev = makeToken(store(), 'developer');
    const env = {
      CUSTOMS_DB: vulndb,
      CUSTOMS_REPORT_REPOSITORY: 'registry.local:5000/team/rootfs-app:ci',
      GITHUB_SHA: 'abc123',
      GITHUB_REPOSITORY: 'org/app',
      GITHUB_RUN_ID: '42',
    };
    const local = await customsAsync(['rootfs', rootfs, '--format', 'json', '-q'], { env });
    const r = await customsAsync(
      ['rootfs', rootfs, '--format', 'json', '-q', '--report-to', server.url, '--token', dev],
      { env },
    );
    assert.equal(r.status, 0, r.stderr);
    // Local output unchanged by the upload (times aside).
    const strip = (s: string) => s.replace(/"createdAt": "[^"]+"/g, '');
    assert.equal(strip(r.stdout), strip(local.stdout));
    const items = (await admin.get('/api/v1/images?repository=team/rootfs-app')).body.items;
    assert.equal(items.length, 1);
    assert.equal(items[0].registry, 'registry.local:5000');
    assert.deepEqual(items[0].tags, ['ci']);
    const item = await scanned(items[0].digest);
    assert.equal(item.scan.source, 'ci');
    const detail = (await viewer.get(`/api/v1/images/${item.digest}`)).body;
    assert.equal(detail.context.commit, 'abc123');
    assert.equal(detail.context.pipelineUrl, 'https://github.com/org/app/actions/runs/42');
    assert.equal(detail.context.environment, 'production');
    assert.equal(item.scan.counts.total, JSON.parse(r.stdout).summary.total);

    // A bad token: a clear error and a non-zero exit; the scan output is still written.
    const bad = await customsAsync(
      ['rootfs', rootfs, '-q', '--report-to', server.url, '--token', 'cst_nope'],
      { env },
    );
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /upload to .* refused \(HTTP 401\)/);
    assert.match(bad.stdout, /vulnerabilit/);
    const noServer = await customsAsync(
      ['rootfs', rootfs, '-q', '--report-to', 'http://127.0.0.1:9', '--token', dev],
      { env },
    );
    assert.equal(noServer.status, 1);
    assert.match(noServer.stderr, /upload to http:\/\/127\.0\.0\.1:9 failed/);
  });

  it('a CI upload of a local archive keeps its own name, under "local", not docker.io', async () => {
    const archive = join(tmp, 'local-app.tar');
    writeFileSync(
      archive,
      await dockerArchive({
        layers: [
          await rootfsLayer(readFileSync(shared('images/alpine/alpine-minirootfs-3.7.3-x86_64.tar.gz'))),
        ],
        tag: 'team/archived-app:7',
      }),
    );
    const dev = makeToken(store(), 'developer');
    const r = await customsAsync(['image', archive, '-q', '--report-to', server.url, '--token', dev], {
      env: { CUSTOMS_DB: vulndb },
    });
    assert.equal(r.status, 0, r.stderr);
    const items = (await admin.get('/api/v1/images?repository=team/archived-app')).body.items;
    assert.equal(items.length, 1);
    assert.equal(items[0].registry, 'local');
    assert.deepEqual(items[0].tags, ['7']);
  });

  it('filters, paginates and reports metrics', async () => {
    // A scan landing between the reads below would change what they compare (seen once on
    // PostgreSQL, 5 fixable against 4): they read one settled state.
    await waitFor(
      async () => {
        const j = (await admin.get('/api/v1/jobs')).body;
        return j.queued === 0 && j.active === 0;
      },
      60_000,
      `an idle queue\n${server.log.slice(-2000)}`,
    );
    const all = (await admin.get('/api/v1/images?limit=500')).body.items;
    assert.ok(all.length >= 3);
    const page1 = await admin.get('/api/v1/images?limit=1');
    const page2 = await admin.get(`/api/v1/images?limit=1&cursor=${page1.body.next}`);
    assert.notEqual(page1.body.items[0].id, page2.body.items[0].id);
    assert.equal(
      (await admin.get('/api/v1/images?severity=CRITICAL')).body.items.length,
      all.filter((i: any) => i.scan?.counts.critical > 0).length,
    );
    assert.equal(
      (await admin.get('/api/v1/images?fixable=true')).body.items.length,
      all.filter((i: any) => i.scan?.counts.fixable > 0).length,
    );
    assert.equal((await admin.get('/api/v1/images?limit=0')).status, 400);
    assert.equal((await admin.get('/api/v1/images?bogus=1')).status, 400);
    assert.equal((await admin.get(`/api/v1/images/sha256:${'0'.repeat(64)}`)).status, 404);
    assert.equal((await admin.get('/api/v1/images/not-a-digest')).status, 400);
    const m = await admin.get('/metrics');
    assert.match(m.body, /customs_queue_jobs\{state="queued"\} \d+/);
    assert.match(m.body, /customs_scan_duration_seconds_count\{outcome="done"\} [1-9]/);
    assert.match(m.body, /customs_webhook_requests_total\{receiver="github",result="bad_signature"\} [1-9]/);
    assert.equal((await new Api(server.url).get('/readyz')).status, 200);
  });

  it('keeps everything across a restart', async () => {
    const before = (await admin.get('/api/v1/images?limit=500')).body.items.length;
    assert.equal(await server.stop(), 0);
    await server.start();
    const after = (await admin.get('/api/v1/images?limit=500')).body.items;
    assert.equal(after.length, before);
    assert.ok(
      after.every((i: any) => i.status === 'scanned'),
      JSON.stringify(after.map((i: any) => [i.repository, i.status])),
    );
  });
}
