/* eslint-disable @typescript-eslint/no-explicit-any -- API answers are checked against the OpenAPI document, not typed here */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { shared } from './helpers/paths.js';
import { freePort, Registry } from './helpers/registry.js';
import { customs, customsAsync, has } from './helpers/run.js';
import { Api, CustomsServer, makeToken, waitFor } from './helpers/server.js';

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
let data: string;
const key = (n: string) => join(tmp, 'keys', n);
const pubDb = () => join(tmp, 'publisher', 'customs.db');
const digests: Record<string, string> = {};

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

describe(
  'continuous monitoring: the database heartbeat, environments, history',
  { skip, timeout: 300_000 },
  () => {
    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'customs-monitor-'));
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
      data = join(tmp, 'data');
      const port = await freePort();
      dev = makeToken(['--data', data], 'developer');
      server = new CustomsServer(port, [
        '--data',
        data,
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
      ]);
      await server.start();
      admin = new Api(server.url, makeToken(['--data', data], 'admin'));
    });
    after(async () => {
      await server?.stop();
      await reg?.stop();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
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
      digests.c = await upload(rootfs('c', '3.10.9'), 'registry.local/team/app-c');
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
      assert.equal(u.body.rescans, 1, 'only app-a holds requests');

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
      // The others were not touched: their newest scan is still the one made with version 1.
      assert.equal((await latestScan(digests.b)).database.version, before.b);
      assert.equal((await latestScan(digests.c)).database.version, before.c);
      const history = (await admin.get('/api/v1/db')).body.updates;
      assert.deepEqual(
        history.map((h: any) => [h.version, h.mode, h.rescans]),
        [
          [v2, 'delta', 1],
          [history[1].version, 'full', 0],
        ],
      );
      // Asked again: nothing new.
      const again = await admin.post('/api/v1/db/update', undefined);
      assert.equal(again.body.status, 'current');
    });

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
      // Only the newest deployment runs now.
      const staging = (await admin.get('/api/v1/environments/staging')).body;
      assert.deepEqual(
        staging.images.map((i: any) => [i.repository, i.digest, i.namespace]),
        [['team/web', digests.c, 'shop']],
      );
      // A viewer reads but cannot record; a custom environment is an admin's.
      const viewer = new Api(server.url, makeToken(['--data', data], 'viewer'));
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
