import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { ociLayout, rootfsLayer } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { PG_ADMIN_URL, pgQuery } from '../helpers/pg.js';
import { freePort, Registry, skopeoCopy } from '../helpers/registry.js';
import { customs, has } from '../helpers/run.js';
import { Api, CustomsProcess, CustomsServer, makeToken, waitFor } from '../helpers/server.js';

// Several replicas and workers on one PostgreSQL, as issue 30 runs them: singletons elected, a
// killed leader replaced, a killed worker's job run again with the default lease, replicas with
// another secret key refused at start, and a replica that drains on SIGTERM.
const skip =
  !has('docker-registry') || !has('skopeo') || !has('haproxy')
    ? 'docker-registry, skopeo and haproxy are not installed'
    : !(await pgQuery('select 1')) && !process.env.CI
      ? 'no PostgreSQL at 127.0.0.1:5432'
      : false;

const dbName = `customs_ha_${process.pid}_${randomBytes(3).toString('hex')}`;
const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`);
const env = { CUSTOMS_SECRET_KEY: randomBytes(32).toString('base64') };
let tmp: string;
let vulndb: string;
const procs: CustomsProcess[] = [];

async function sql<T = Record<string, unknown>>(q: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(q, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** A replica as on its own host: its own data folder and its own copy of the database. */
async function replica(name: string, extra: string[] = []): Promise<CustomsServer> {
  const s = new CustomsServer(
    await freePort(),
    [
      '--database',
      url,
      '--db',
      vulndb,
      '--workers',
      '0',
      '--leader-check',
      '1',
      '--data',
      join(tmp, name),
      ...extra,
    ],
    env,
  );
  procs.push(s);
  await s.start();
  return s;
}

/** Singleton tasks this replica leads, read from its /metrics as Prometheus would. */
async function leads(api: Api): Promise<string[]> {
  const r = await fetch(`${api.base}/metrics`, { headers: { authorization: `Bearer ${api.token}` } });
  const text = await r.text();
  return [...text.matchAll(/^customs_singleton_leader\{task="([^"]+)",replica="[^"]*"\} 1$/gm)].map(
    (m) => m[1],
  );
}

/**
 * Debian's haproxy in front of replicas, as people run them: health checks on /readyz every
 * 200 ms; a request that found a dead or closing replica is retried on another.
 */
async function haproxy(servers: CustomsServer[]): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const cfg = join(tmp, `haproxy-${port}.cfg`);
  writeFileSync(
    cfg,
    [
      'global',
      '  maxconn 512',
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 10s',
      '  timeout server 10s',
      '  timeout check 2s',
      '  retries 3',
      '  option redispatch 1',
      '  retry-on conn-failure empty-response response-timeout',
      'frontend fe',
      `  bind 127.0.0.1:${port}`,
      '  default_backend be',
      'backend be',
      '  balance roundrobin',
      '  option http-buffer-request',
      '  option httpchk GET /readyz',
      '  http-check expect status 200',
      ...servers.map(
        (s, i) => `  server r${i} 127.0.0.1:${new URL(s.url).port} check inter 200ms fall 3 rise 2`,
      ),
      '',
    ].join('\n'),
  );
  const lb = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  lb.stderr.on('data', (d) => (log += d));
  const front = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => (await fetch(`${front}/readyz`).catch(() => undefined))?.status === 200,
    10_000,
    `haproxy\n${log}`,
  );
  return { url: front, stop: () => lb.kill('SIGKILL') };
}

describe('several replicas and workers on one PostgreSQL', { skip, timeout: 300_000 }, () => {
  let a: CustomsServer;
  let b: CustomsServer;
  let apiA: Api;
  let apiB: Api;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-ha-'));
    vulndb = join(tmp, 'vuln.db');
    assert.equal(
      customs(['db', 'import', shared('advisories/alpine-secdb'), '--db', vulndb, '-q']).status,
      0,
    );
    assert.ok(await pgQuery(`CREATE DATABASE ${dbName}`));
    a = await replica('a');
    b = await replica('b');
    const token = makeToken(['--database', url], 'admin', [], env);
    apiA = new Api(a.url, token);
    apiB = new Api(b.url, token);
  });
  after(async () => {
    for (const p of procs) await p.stop('SIGKILL');
    await pgQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('refuses a replica or worker whose secret key differs from the store’s', () => {
    const other = { CUSTOMS_SECRET_KEY: randomBytes(32).toString('base64') };
    for (const args of [['server', '--listen', '127.0.0.1:1', '--workers', '0'], ['worker']]) {
      const r = customs([...args, '--database', url, '--db', vulndb, '--data', join(tmp, 'wrong')], {
        env: { ...process.env, ...other },
      });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /another CUSTOMS_SECRET_KEY than the one the store was set up with/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  it('answers 2,000 admission reviews through haproxy while a replica is killed: no wrong decision', async () => {
    const lb = await haproxy([a, b]);
    const front = lb.url;
    try {
      const hook = makeToken(['--database', url], 'admission', [], env);
      const unknown = `registry.local/team/app@sha256:${'ab'.repeat(32)}`;
      // Production refuses an image it has never scanned; a namespace mapped to no environment is not gated.
      const review = (ns: string) => ({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: randomUUID(),
          kind: { group: '', version: 'v1', kind: 'Pod' },
          resource: { group: '', version: 'v1', resource: 'pods' },
          namespace: ns,
          operation: 'CREATE',
          object: {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'p' },
            spec: { containers: [{ name: 'c', image: unknown }] },
          },
        },
      });
      const total = 2000;
      let sent = 0;
      let killedAt = 0;
      const failures: number[] = [];
      const codes: number[] = [];
      let wrong = 0;
      const victim = a;
      const client = async () => {
        while (sent < total) {
          const n = sent++;
          if (n === 500) {
            killedAt = Date.now();
            victim.child!.kill('SIGKILL');
          }
          const ns = n % 2 ? 'production' : 'sandbox';
          const r = await fetch(`${front}/admission/validate`, {
            method: 'POST',
            headers: { authorization: `Bearer ${hook}`, 'content-type': 'application/json' },
            body: JSON.stringify(review(ns)),
          }).catch(() => undefined);
          const body =
            r?.status === 200 ? ((await r.json()) as { response?: { allowed?: boolean } }) : undefined;
          if (!body?.response) {
            failures.push(Date.now());
            codes.push(r?.status ?? 0);
            continue;
          }
          if (body.response.allowed !== (ns === 'sandbox')) wrong++;
        }
      };
      await Promise.all([client(), client(), client(), client()]);
      assert.equal(wrong, 0, 'no wrong decision');
      // At most the requests in flight on the killed replica (4 clients) fail, and none afterwards.
      assert.ok(failures.length <= 4, `failed: ${failures.length} (${codes.join(' ')})`);
      assert.ok(
        failures.every((t) => t - killedAt < 1000),
        'no failure after the kill settled',
      );
      process.stderr.write(
        `admission through haproxy: ${total} reviews, ${failures.length} failed at the kill\n`,
      );
      // The survivor's /metrics: its admission latency histogram and the database's age.
      const m = await (
        await fetch(`${b.url}/metrics`, { headers: { authorization: `Bearer ${apiB.token}` } })
      ).text();
      const count = Number(
        /^customs_admission_duration_seconds_count\{endpoint="validate",code="200"\} (\d+)$/m.exec(m)?.[1],
      );
      assert.ok(count >= total / 2, `admission answers counted: ${count}`);
      assert.match(m, /^customs_vulndb_age_seconds \d/m);
    } finally {
      lb.stop();
      await a.stop('SIGKILL');
      await a.start();
    }
  });

  it('runs each singleton on exactly one replica and moves it within 30 s of a SIGKILL', async () => {
    const tasks = ['alerts', 'attest-refresh', 'db-updater', 'gate-watch', 'poller', 'verdicts'];
    let la: string[] = [];
    let lb: string[] = [];
    await waitFor(
      async () => {
        [la, lb] = await Promise.all([leads(apiA), leads(apiB)]);
        return [...la, ...lb].sort().join() === tasks.join();
      },
      15_000,
      'every singleton led once',
    );
    assert.equal(new Set([...la, ...lb]).size, la.length + lb.length, 'no task led twice');
    // The API says who does what, the same from either replica.
    const cluster = (await apiB.get('/api/v1/cluster')).body;
    assert.equal(cluster.singletons.length, tasks.length);
    const [leader, survivor, survivorApi] = la.length ? [a, b, apiB] : [b, a, apiA];
    const leaderName = cluster.singletons.find((s: { task: string }) => s.task === 'alerts').replica;
    assert.match(leaderName, new RegExp(`:${leader.child!.pid}$`));

    await leader.stop('SIGKILL');
    const t0 = Date.now();
    await waitFor(async () => (await leads(survivorApi)).length === tasks.length, 30_000, 'take-over');
    const tookMs = Date.now() - t0;
    process.stderr.write(`singletons moved in ${tookMs} ms\n`);
    const after = (await survivorApi.get('/api/v1/cluster')).body;
    assert.ok(
      after.singletons.every((s: { replica: string }) => s.replica.endsWith(`:${survivor.child!.pid}`)),
    );
    await leader.start();
    await waitFor(async () => (await fetch(`${leader.url}/readyz`)).status === 200, 20_000, 'restart');
  });

  it('runs a killed worker’s job again within 90 s with the default lease, storing one scan', async () => {
    const reg = new Registry(join(tmp, 'registry'), await freePort());
    await reg.start();
    const proxy = new FaultProxy({ host: '127.0.0.1', port: Number(reg.host.split(':')[1]) });
    let stall = true;
    // Layers hang while `stall` holds: the first worker is killed with its scan half done.
    proxy.decide = (req) => (stall && /\/blobs\//.test(req.path) ? 'hang' : 'pass');
    await proxy.start();
    try {
      const dir = join(tmp, 'img');
      mkdirSync(dir);
      const base = await rootfsLayer(
        readFileSync(shared('images/alpine/alpine-minirootfs-3.7.3-x86_64.tar.gz')),
      );
      const { manifestDigest: digest } = ociLayout(dir, { layers: [base] });
      skopeoCopy(`oci:${dir}:latest`, `docker://${reg.host}/ha/app:v1`);
      assert.equal(
        (await apiA.post('/api/v1/registries', { url: `http://${proxy.host}`, insecure: true })).status,
        201,
      );
      const worker = (name: string) => {
        const w = new CustomsProcess(
          ['worker', '--database', url, '--db', vulndb, '--data', join(tmp, name)],
          env,
        );
        procs.push(w);
        w.start();
        return w;
      };
      const w1 = worker('w1');
      await w1.waitForLog(/customs worker ready/);
      const hook = makeToken(['--database', url], 'webhook', [], env);
      const event = {
        events: [
          {
            action: 'push',
            target: {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              repository: 'ha/app',
              digest,
              tag: 'v1',
            },
            request: { host: proxy.host },
          },
        ],
      };
      const r = await fetch(`${a.url}/webhooks/distribution`, {
        method: 'POST',
        headers: { authorization: `Bearer ${hook}`, 'content-type': 'application/json' },
        body: JSON.stringify(event),
      });
      assert.equal(r.status, 202);
      await w1.waitForLog(new RegExp(`job started.*${digest.slice(7)}`), 30_000);
      await waitFor(
        () => proxy.seen.some((s) => /\/blobs\//.test(s.path)),
        20_000,
        'the worker reading a layer',
      );
      await w1.stop('SIGKILL');
      const killedAt = Date.now();
      stall = false;
      const w2 = worker('w2');
      await waitFor(
        async () => !!(await apiA.get(`/api/v1/images/${digest}`)).body?.scan,
        90_000,
        `the scan after the worker was killed\n${a.log.slice(-3000)}\n---\n${w2.log.slice(-3000)}`,
      );
      process.stderr.write(`a killed worker's job ran again and finished in ${Date.now() - killedAt} ms\n`);
      const rows = await sql<{ n: string }>('SELECT count(*) AS n FROM scans WHERE digest = $1', [digest]);
      assert.equal(Number(rows[0].n), 1, 'exactly one scan row');
    } finally {
      await proxy.stop();
      await reg.stop();
    }
  });

  it('applies a database version once across replicas, also when its leader is killed mid-way', async () => {
    mkdirSync(join(tmp, 'keys'));
    const key = (n: string) => join(tmp, 'keys', n);
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key('db.pem')]);
    execFileSync('openssl', ['pkey', '-in', key('db.pem'), '-pubout', '-out', key('db.pub')]);
    const reg = new Registry(join(tmp, 'db-registry'), await freePort());
    await reg.start();
    const ref = `${reg.host}/sec/customs-db`;
    const publish = async (name: string) => {
      await new Promise((r) => setTimeout(r, 1100)); // a new build time: a new version
      const bundle = join(tmp, `${name}.tar.zst`);
      const b = customs(['db', 'build', shared('advisories/alpine-secdb'), '--output', bundle], {
        env: { ...process.env, CUSTOMS_DB: join(tmp, 'publisher', `${name}.db`) },
      });
      assert.equal(b.status, 0, b.stderr);
      const p = customs(['db', 'publish', bundle, ref, '--key', key('db.pem'), '--insecure']);
      assert.equal(p.status, 0, p.stderr);
      return /version (\S+),/.exec(p.stdout)![1];
    };
    const follow = [
      '--db-repository',
      ref,
      '--db-insecure',
      '--db-trust-key',
      key('db.pub'),
      '--db-update-interval',
      '0',
    ];
    const own = (name: string) => ['--db', join(tmp, name, 'customs.db')];
    try {
      const v1 = await publish('v1');
      const [c, d] = [
        await replica('db-c', [...follow, ...own('db-c')]),
        await replica('db-d', [...follow, ...own('db-d')]),
      ];
      const [apiC, apiD] = [new Api(c.url, apiA.token), new Api(d.url, apiA.token)];
      // Both asked at once (an operator's retry, two schedulers): one applies, the other catches up.
      const [rc, rd] = await Promise.all([
        apiC.post('/api/v1/db/update', undefined),
        apiD.post('/api/v1/db/update', undefined),
      ]);
      assert.equal(rc.status, 200, JSON.stringify(rc.body));
      assert.equal(rd.status, 200, JSON.stringify(rd.body));
      assert.equal(rc.body.version, v1);
      assert.equal(rd.body.version, v1);
      const applied = async (v: string) =>
        Number(
          (await sql<{ n: string }>('SELECT count(*) AS n FROM db_versions WHERE version = $1', [v]))[0].n,
        );
      assert.equal(await applied(v1), 1, 'one record, one fleet pass');
      assert.equal((await apiC.get('/api/v1/db')).body.version, v1);
      assert.equal((await apiD.get('/api/v1/db')).body.version, v1);

      // v2 is published while the replica leading the updater dies: the survivor applies it, once.
      const v2 = await publish('v2');
      const leader = (await apiC.get('/api/v1/cluster')).body.singletons.find(
        (x: { task: string }) => x.task === 'db-updater',
      ).replica as string;
      const all = [a, b, c, d];
      const dead = all.find((r) => leader.endsWith(`:${r.child!.pid}`));
      assert.ok(dead, `the updater's leader ${leader} is one of the replicas`);
      const [alive, aliveApi] = dead === d ? [c, apiC] : [d, apiD];
      await dead.stop('SIGKILL');
      const r2 = await aliveApi.post('/api/v1/db/update', undefined);
      assert.equal(r2.status, 200, JSON.stringify(r2.body));
      assert.equal(r2.body.version, v2);
      assert.equal(await applied(v2), 1);
      // Asked again: nothing new, nothing applied twice.
      assert.equal((await aliveApi.post('/api/v1/db/update', undefined)).body.status, 'current');
      assert.equal(await applied(v2), 1);
      assert.equal((await aliveApi.get('/api/v1/db')).body.version, v2);
      for (const r of [c, d]) await r.stop('SIGKILL');
      if (dead === a || dead === b) await dead.start();
      void alive;
    } finally {
      await reg.stop();
    }
  });

  it('drains on SIGTERM behind haproxy: no request fails, locks released', async () => {
    const c = await replica('c');
    const d = await replica('d');
    const lb = await haproxy([c, d]);
    const auth = { authorization: `Bearer ${apiA.token}` };
    let failed = 0;
    let ok = 0;
    let okAfterStop = 0;
    let running = true;
    let stopped = false;
    const codes: number[] = [];
    const client = async () => {
      while (running) {
        const r = await fetch(`${lb.url}/api/v1/images`, { headers: auth }).catch(() => undefined);
        if (r?.status === 200) {
          ok++;
          if (stopped) okAfterStop++;
        } else {
          failed++;
          codes.push(r?.status ?? 0);
        }
        await r?.arrayBuffer().catch(() => undefined);
      }
    };
    try {
      const load = Promise.all([client(), client(), client(), client()]);
      await waitFor(() => ok > 20, 10_000, 'load through haproxy');
      const code = await c.stop('SIGTERM');
      stopped = true;
      // The survivor keeps answering through the proxy after the drained replica is gone.
      await waitFor(() => okAfterStop > 20, 10_000, 'answers after the drain');
      running = false;
      await load;
      assert.equal(code, 0);
      assert.equal(failed, 0, `no request failed through haproxy (${ok} answered; ${codes.join(' ')})`);
      assert.match(c.log, /shutting down: readiness is false/);
      assert.match(c.log, /singleton locks released/);
      process.stderr.write(`SIGTERM behind haproxy: ${ok} answered, ${failed} failed\n`);
    } finally {
      running = false;
      lb.stop();
      await d.stop('SIGKILL');
    }
  });
});
