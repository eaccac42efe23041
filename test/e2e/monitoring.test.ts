/* eslint-disable @typescript-eslint/no-explicit-any -- API answers are checked against the OpenAPI document, not typed here */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { SMTPServer } from 'smtp-server';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { shared } from '../helpers/paths.js';
import { describeStores, freshStore, type TestStore } from '../helpers/stores.js';
import { freePort, Registry } from '../helpers/registry.js';
import { customs, customsAsync, has } from '../helpers/run.js';
import { Api, CustomsProcess, CustomsServer, makeToken, waitFor } from '../helpers/server.js';

// The server's heartbeat: it pulls the signed database from a registry (Debian's docker-registry
// on loopback), and a new version re-matches only the inventories its change touches. CI uploads
// and deployments come from the built CLI; every answer is checked against the OpenAPI document.
const skip = !has('docker-registry') || !has('openssl') ? 'docker-registry and openssl are needed' : false;

let tmp: string;
let reg: Registry;
let server: CustomsServer;
let admin: Api;
let dev: string;
let ref: string;
let store: string[];
const SECRET_KEY = randomBytes(32).toString('base64');
const key = (n: string) => join(tmp, 'keys', n);
const pubDb = () => join(tmp, 'publisher', 'customs.db');
const digests: Record<string, string> = {};
const HOOK_SECRET = 'a-shared-secret-of-the-receiver';
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let smtp: SMTPServer;
const mails: Array<{ to: string; data: string }> = [];

/** A webhook receiver on loopback that keeps what it was sent. */
async function startReceiver() {
  const bodies: Array<{ raw: string; signature?: string }> = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      bodies.push({ raw, signature: req.headers['x-customs-signature'] as string | undefined });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, bodies, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

function publish(bundle: string, extra: string[] = []): string {
  const r = customs(['db', 'publish', bundle, ref, '--key', key('db.pem'), '--insecure', ...extra]);
  assert.equal(r.status, 0, r.stderr);
  return /version (\S+),/.exec(r.stdout)![1];
}

/** A root filesystem: an Alpine release, optionally with a Python package installed. */
function rootfs(name: string, alpine: string, python?: { name: string; version: string }): string {
  const dir = join(tmp, 'rootfs', name);
  mkdirSync(dir, { recursive: true });
  spawnSync('tar', ['xzf', shared(`images/alpine/alpine-minirootfs-${alpine}-x86_64.tar.gz`), '-C', dir]);
  if (python) {
    const info = join(dir, `usr/lib/python3.6/site-packages/${python.name}-${python.version}.dist-info`);
    mkdirSync(info, { recursive: true });
    writeFileSync(
      join(info, 'METADATA'),
      `Metadata-Version: 2.1\nName: ${python.name}\nVersion: ${python.version}\n`,
    );
  }
  return dir;
}

async function upload(dir: string, repository: string): Promise<string> {
  const r = await customsAsync(
    ['rootfs', dir, '--format', 'json', '-q', '--report-to', server.url, '--token', dev],
    {
      env: { CUSTOMS_DB: pubDb(), CUSTOMS_REPORT_REPOSITORY: repository },
    },
  );
  assert.equal(r.status, 0, r.stderr);
  const items = (await admin.get(`/api/v1/images?repository=${repository.split('/').slice(1).join('/')}`))
    .body.items;
  assert.equal(items.length >= 1, true);
  return items[0].digest;
}

async function latestScan(digest: string): Promise<any> {
  return (await admin.get(`/api/v1/images/${digest}`)).body.scan;
}

// The same story on both stores: SQLite in the data folder, and PostgreSQL (pg-boss queue).
describeStores(
  'continuous monitoring: the database heartbeat, environments, history',
  { skip, timeout: 300_000 },
  (engine) => {
    let st: TestStore;
    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'customs-monitor-'));
      mails.length = 0;
      for (const k of Object.keys(digests)) delete digests[k];
      st = await freshStore(engine, join(tmp, 'data'), 'monitor');
      store = st.args;
      mkdirSync(join(tmp, 'keys'));
      execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key('db.pem')]);
      execFileSync('openssl', ['pkey', '-in', key('db.pem'), '-pubout', '-out', key('db.pub')]);
      reg = new Registry(join(tmp, 'registry'), await freePort());
      await reg.start();
      ref = `${reg.host}/sec/customs-db`;
      const b = customs(
        [
          'db',
          'build',
          shared('advisories/alpine-secdb'),
          shared('kev'),
          '--output',
          join(tmp, 'v1.tar.zst'),
        ],
        { env: { CUSTOMS_DB: pubDb() } },
      );
      assert.equal(b.status, 0, b.stderr);
      publish(join(tmp, 'v1.tar.zst'));
      const port = await freePort();
      dev = makeToken(store, 'developer', [], { CUSTOMS_SECRET_KEY: SECRET_KEY });
      receiver = await startReceiver();
      smtp = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        onData(stream, session, done) {
          let text = '';
          stream.on('data', (c: Buffer) => (text += c.toString('utf8')));
          stream.on('end', () => {
            mails.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), data: text });
            done();
          });
        },
      });
      const smtpPort = await freePort();
      await new Promise<void>((r) => smtp.listen(smtpPort, '127.0.0.1', r));
      server = new CustomsServer(
        port,
        [
          '--smtp-url',
          `smtp://127.0.0.1:${smtpPort}`,
          ...store,
          '--db',
          join(tmp, 'server-db', 'customs.db'),
          '--workers',
          '2',
          '--db-repository',
          ref,
          '--db-insecure',
          '--db-trust-key',
          key('db.pub'),
          '--db-update-interval',
          '0',
        ],
        { CUSTOMS_ALERT_RETRY_MS: '100', CUSTOMS_SECRET_KEY: SECRET_KEY },
      );
      await server.start();
      admin = new Api(server.url, makeToken(store, 'admin', [], { CUSTOMS_SECRET_KEY: SECRET_KEY }));
    });
    after(async () => {
      await server?.stop();
      receiver?.server.close();
      smtp?.close();
      await reg?.stop();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
      await st?.drop();
    });

    it('pulls its database on request, then takes CI uploads and deployments', async () => {
      const u = await admin.post('/api/v1/db/update', undefined);
      assert.equal(u.status, 200, JSON.stringify(u.body));
      assert.equal(u.body.status, 'installed');
      assert.equal(u.body.mode, 'full');
      const db = (await admin.get('/api/v1/db')).body;
      assert.equal(db.version, u.body.version);
      assert.match(db.origin, new RegExp(`^${reg.host}/sec/customs-db@sha256:`));

      // Three images: app-a has a Python package the others lack.
      digests.a = await upload(
        rootfs('a', '3.7.3', { name: 'requests', version: '2.19.0' }),
        'registry.local/team/app-a',
      );
      digests.b = await upload(rootfs('b', '3.8.5'), 'registry.local/team/app-b');
      digests.c = await upload(
        rootfs('c', '3.10.9', { name: 'requests', version: '2.19.0' }),
        'registry.local/team/app-c',
      );
      assert.equal(new Set(Object.values(digests)).size, 3);
      for (const d of Object.values(digests))
        await waitFor(
          async () => !!(await latestScan(d)),
          30_000,
          `a scan of ${d}\n${server.log.slice(-2000)}`,
        );

      for (const [name, d] of [
        ['a', digests.a],
        ['b', digests.b],
      ]) {
        const r = await customsAsync([
          'deploy',
          'record',
          `registry.local/team/app-${name}@${d}`,
          '--env',
          'production',
          '--server',
          server.url,
          '--token',
          dev,
        ]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`registry\\.local/team/app-${name}@${d} recorded in production`));
      }
      const bad = await customsAsync(
        ['deploy', 'record', 'registry.local/team/app-a:latest', '--env', 'production'],
        {
          env: { CUSTOMS_SERVER: server.url, CUSTOMS_TOKEN: dev },
        },
      );
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /refused the deployment \(HTTP 400\): a deployment names its image by digest/);

      const envs = (await admin.get('/api/v1/environments')).body;
      assert.equal(envs[0].name, 'production');
      assert.equal(envs[0].images, 2);
      const prod = (await admin.get('/api/v1/environments/production')).body;
      assert.deepEqual(prod.images.map((i: any) => i.digest).sort(), [digests.a, digests.b].sort());
      assert.ok(prod.images.every((i: any) => /^[A-F]$/.test(i.scan.grade)));
      assert.equal(prod.more, 0);
      // Cut in the query, worst first: the first of the whole list, and how many are left out.
      const first = (await admin.get('/api/v1/environments/production?limit=1')).body;
      assert.deepEqual(
        first.images.map((i: any) => i.digest),
        [prod.images[0].digest],
      );
      assert.equal(first.more, 1);
      assert.equal((await admin.get('/api/v1/environments/production?limit=0')).status, 400);
      assert.equal((await admin.get('/api/v1/environments/nowhere')).status, 404);
    });

    it('a new database version re-matches only the inventories its change touches', async () => {
      const before = {
        b: (await latestScan(digests.b)).database.version,
        c: (await latestScan(digests.c)).database.version,
      };
      // Version 2: one new PyPI advisory, for a package only app-a holds.
      const adv = join(tmp, 'new-advisory');
      mkdirSync(adv);
      writeFileSync(
        join(adv, 'PYSEC-2099-1.json'),
        JSON.stringify({
          schema_version: '1.6.0',
          id: 'PYSEC-2099-1',
          modified: '2026-11-30T00:00:00Z',
          aliases: ['CVE-2099-0001'],
          summary: 'requests leaks credentials on redirect',
          affected: [
            {
              package: { ecosystem: 'PyPI', name: 'requests' },
              ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.20.0' }] }],
            },
          ],
        }),
      );
      // …and CISA lists its CVE as exploited (the catalog is published whole: today's plus one).
      const kev = JSON.parse(readFileSync(shared('kev/known_exploited_vulnerabilities.json'), 'utf8'));
      kev.vulnerabilities.push({
        cveID: 'CVE-2099-0001',
        vendorProject: 'Python Software Foundation',
        product: 'requests',
        vulnerabilityName: 'requests credential leak',
        dateAdded: '2026-11-30',
        shortDescription: 'test',
        requiredAction: 'Apply updates.',
        dueDate: '2026-12-21',
        knownRansomwareCampaignUse: 'Unknown',
        notes: '',
      });
      writeFileSync(join(adv, 'kev.json'), JSON.stringify(kev));
      // Alert channels: a signed webhook, email, and a receiver that is down.
      const hook = await admin.post('/api/v1/channels', {
        type: 'webhook',
        url: `${receiver.url}/hook`,
        secret: HOOK_SECRET,
      });
      assert.equal(hook.status, 201, JSON.stringify(hook.body));
      assert.equal(hook.body.signed, true);
      assert.equal(
        (await admin.post('/api/v1/channels', { type: 'email', to: 'oncall@example.test' })).status,
        201,
      );
      assert.equal(
        (
          await admin.post('/api/v1/channels', {
            type: 'slack',
            url: 'http://127.0.0.1:9/services/T0/B0/x',
          })
        ).status,
        201,
      );
      assert.equal((await admin.post('/api/v1/channels', { type: 'email' })).status, 400);
      const b = customs(['db', 'build', adv, '--output', join(tmp, 'v2.tar.zst')], {
        env: { CUSTOMS_DB: pubDb() },
      });
      assert.equal(b.status, 0, b.stderr);
      const v2 = publish(join(tmp, 'v2.tar.zst'), ['--previous', join(tmp, 'v1.tar.zst')]);

      const u = await admin.post('/api/v1/db/update', undefined);
      assert.equal(u.status, 200, JSON.stringify(u.body));
      assert.equal(u.body.version, v2);
      assert.equal(u.body.mode, 'delta');
      assert.equal(u.body.changedPackages, 1, 'PyPI requests');
      assert.equal(u.body.rescans, 2, 'only app-a and app-c hold requests');
      // Both patched at once in the update (their findings changed), none left to the queue.
      assert.equal(u.body.changedImages, 2);
      assert.equal(u.body.queued, 0);

      await waitFor(
        async () => (await latestScan(digests.a)).database.version === v2,
        30_000,
        `app-a re-matched\n${server.log.slice(-2000)}`,
      );
      const a = await latestScan(digests.a);
      // Named by its CVE, the PYSEC id an alias.
      assert.ok(
        a.findings.some(
          (f: any) =>
            f.id === 'CVE-2099-0001' && f.aliases.includes('PYSEC-2099-1') && f.package.name === 'requests',
        ),
        JSON.stringify(a.findings.map((f: any) => f.id)),
      );
      const changes = (await admin.get(`/api/v1/images/${digests.a}/changes`)).body;
      assert.deepEqual(
        changes.map((c: any) => [c.kind, c.vulnerability, c.package, c.dbVersion]),
        [['new', 'CVE-2099-0001', 'requests@2.19.0', v2]],
      );
      // app-b was not touched: its newest scan is still the one made with version 1. app-c was
      // re-matched too, but it runs nowhere: no alert for it.
      assert.equal((await latestScan(digests.b)).database.version, before.b);
      await waitFor(
        async () => (await latestScan(digests.c)).database.version === v2,
        30_000,
        'app-c re-matched',
      );
      assert.notEqual(before.c, v2);

      // The alerts reach the webhook (signed) and the mailbox; the dead receiver is retried, then
      // failed. Two per channel: the new finding, and production's policy now failing on it.
      await waitFor(
        () => receiver.bodies.length >= 2 && mails.length >= 2,
        30_000,
        `alerts\n${server.log.slice(-2000)}`,
      );
      for (const b of receiver.bodies)
        assert.equal(b.signature, `sha256=${createHmac('sha256', HOOK_SECRET).update(b.raw).digest('hex')}`);
      const bodies = receiver.bodies.map((b) => JSON.parse(b.raw));
      const alert = bodies.find((b: any) => b.kind === 'findings');
      assert.equal(alert.environment, 'production');
      assert.equal(alert.image, `registry.local/team/app-a@${digests.a}`);
      assert.equal(
        alert.summary,
        `CVE-2099-0001 (KEV) now affects registry.local/team/app-a@${digests.a} running in production`,
      );
      assert.deepEqual(
        alert.findings.map((f: any) => [f.id, f.package, f.version, f.kev, f.fixedVersion]),
        [['CVE-2099-0001', 'requests', '2.19.0', true, '2.20.0']],
      );
      const policy = bodies.find((b: any) => b.kind === 'policy');
      assert.match(
        policy.summary,
        new RegExp(
          `registry\\.local/team/app-a@${digests.a} running in production now fails its policy: no-known-exploited: CVE-2099-0001`,
        ),
      );
      assert.ok(mails.every((m) => m.to === 'oncall@example.test'));
      // The message as a mail reader shows it: folded headers unfolded, quoted-printable decoded.
      const mail = mails
        .map((m) =>
          m.data
            .replace(/\r\n[ \t]+/g, ' ')
            .replace(/=\r\n/g, '')
            .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
        )
        .find((m) => m.includes('now affects'))!;
      assert.match(
        mail,
        /Subject: \[customs\] CVE-2099-0001 \(KEV\) now affects registry\.local\/team\/app-a@sha256:[0-9a-f]{64} running in production/,
      );
      assert.match(mail, /CVE-2099-0001 \(KEV\) UNKNOWN requests 2\.19\.0, fixed in 2\.20\.0/);
      await waitFor(
        async () =>
          (await admin.get('/api/v1/alerts')).body.filter((x: any) => x.state === 'failed').length === 2,
        30_000,
        'the dead channel given up on',
      );
      const alerts = (await admin.get('/api/v1/alerts')).body;
      assert.deepEqual(
        alerts.map((x: any) => x.kind).sort(),
        ['findings', 'findings', 'findings', 'policy', 'policy', 'policy'],
        'one of each kind per channel, for app-a in production only',
      );
      assert.ok(alerts.every((x: any) => x.image.includes(digests.a) && x.environment === 'production'));
      const failed = alerts.find((x: any) => x.state === 'failed');
      assert.equal(failed.attempts, 4);
      assert.match(failed.lastError, /127\.0\.0\.1:9/);
      assert.equal(alerts.filter((x: any) => x.state === 'delivered').length, 4);
      assert.equal(receiver.bodies.length, 2, 'each delivered once');
      const history = (await admin.get('/api/v1/db')).body.updates;
      assert.deepEqual(
        history.map((h: any) => [h.version, h.mode, h.rescans]),
        [
          [v2, 'delta', 2],
          [history[1].version, 'full', 0],
        ],
      );
      // Asked again: nothing new.
      const again = await admin.post('/api/v1/db/update', undefined);
      assert.equal(again.body.status, 'current');
      // The CLI form of a full rescan: the one inventory the change did not touch is matched anew.
      const cli = await customsAsync([
        'server',
        'rescan',
        '--all',
        '--server',
        server.url,
        '--token',
        admin.token!,
      ]);
      assert.equal(cli.status, 0, cli.stderr);
      assert.match(cli.stdout, /^1 image\(s\) queued for re-matching/);
    });

    it(
      'a scale-out worker brings its own database in step with the server before taking jobs',
      { skip: engine === 'postgres' ? false : 'customs worker shares a PostgreSQL store' },
      async () => {
        const version = (await admin.get('/api/v1/db')).body.version;
        const worker = new CustomsProcess(
          [
            'worker',
            ...store,
            '--db',
            join(tmp, 'worker-db', 'customs.db'),
            '--db-repository',
            ref,
            '--db-insecure',
            '--db-trust-key',
            key('db.pub'),
          ],
          { CUSTOMS_SECRET_KEY: SECRET_KEY },
        );
        worker.start();
        try {
          await worker.waitForLog(/customs worker ready/, 60_000);
          assert.match(
            worker.log,
            new RegExp(
              `"msg":"database brought in step with the server","version":"${version}","server":"${version}"`,
            ),
          );
        } finally {
          await worker.stop();
        }
      },
    );

    it('three deployments of one repository: history with what each one fixed and introduced', async () => {
      const scans: any[] = [];
      for (const d of [digests.a, digests.b, digests.c]) {
        const r = await admin.post('/api/v1/deployments', {
          image: `registry.local/team/web@${d}`,
          environment: 'staging',
          namespace: 'shop',
        });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        scans.push(await latestScan(d));
      }
      const h = (await admin.get('/api/v1/environments/staging/history')).body;
      assert.equal(h.length, 3);
      const ids = (s: any): Set<string> =>
        new Set<string>(s.findings.map((f: any) => `${f.id} ${f.package.name} ${f.package.version}`));
      assert.equal(h[0].change, null);
      for (let i = 1; i < 3; i++) {
        const [was, now] = [ids(scans[i - 1]), ids(scans[i])];
        assert.equal(h[i].change.previous, [digests.a, digests.b, digests.c][i - 1]);
        assert.equal(h[i].change.introduced, [...now].filter((x) => !was.has(x)).length);
        assert.equal(h[i].change.fixed, [...was].filter((x) => !now.has(x)).length);
        assert.equal(h[i].scan.grade, scans[i].summary.grade);
      }
      assert.ok(h[1].change.fixed > 0, 'moving off Alpine 3.7 fixes findings');
      // What else each deployment changed, as `customs compare` says it (packages, base image).
      for (let i = 1; i < 3; i++) {
        const [a, b] = [[digests.a, digests.b, digests.c][i - 1], [digests.a, digests.b, digests.c][i]];
        const cmp = (await admin.get(`/api/v1/compare?from=${a}&to=${b}`)).body;
        assert.deepEqual(h[i].change.packages, {
          added: cmp.packages.added.length,
          removed: cmp.packages.removed.length,
          changed: cmp.packages.changed.length,
        });
        assert.equal(h[i].change.baseImageChanged, cmp.baseImageChanged);
      }
      assert.ok(
        h[1].change.packages.changed > 0 && h[1].change.baseImageChanged,
        JSON.stringify(h[1].change),
      );
      // Only the newest deployment runs now.
      const staging = (await admin.get('/api/v1/environments/staging')).body;
      assert.deepEqual(
        staging.images.map((i: any) => [i.repository, i.digest, i.namespace]),
        [['team/web', digests.c, 'shop']],
      );
      // A viewer reads but cannot record; a custom environment is an admin's.
      const viewer = new Api(server.url, makeToken(store, 'viewer', [], { CUSTOMS_SECRET_KEY: SECRET_KEY }));
      assert.equal((await viewer.get('/api/v1/environments/staging/history')).status, 200);
      assert.equal(
        (
          await viewer.post('/api/v1/deployments', {
            image: `registry.local/team/web@${digests.a}`,
            environment: 'staging',
          })
        ).status,
        403,
      );
      assert.equal(
        (await viewer.post('/api/v1/environments', { name: 'eu-prod', exposure: 'internet' })).status,
        403,
      );
      assert.equal(
        (await admin.post('/api/v1/environments', { name: 'eu-prod', exposure: 'internet' })).status,
        201,
      );
      assert.equal((await admin.get('/api/v1/environments')).body.length, 4);
    });
  },
);
