import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { makeTar, ociLayout, rootfsLayer } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { freePort, notifyCustoms, Registry, skopeoCopy } from '../helpers/registry.js';
import { customs, has } from '../helpers/run.js';
import { Api, CustomsProcess, CustomsServer, makeToken, waitFor } from '../helpers/server.js';
import { PG_ADMIN_URL, pgQuery } from '../helpers/pg.js';

// Scale-out: `customs server` (API only) and `customs worker` processes sharing PostgreSQL at
// 127.0.0.1:5432 through pg-boss; pushes arrive from Debian's docker-registry. Workers are killed
// with SIGKILL mid-scan and the server is restarted: no job may be lost.
// CI starts PostgreSQL (.ci/run); elsewhere a machine without one skips with the reason.
const skip =
  !has('docker-registry') || !has('skopeo')
    ? 'docker-registry and skopeo are not installed'
    : !(await pgQuery('select 1')) && !process.env.CI
      ? 'no PostgreSQL at 127.0.0.1:5432'
      : false;

const dbName = `customs_test_${process.pid}_${randomBytes(3).toString('hex')}`;
const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`);
let tmp: string;
let reg: Registry;
let server: CustomsServer;
let admin: Api;
let vulndb: string;
const workers: CustomsProcess[] = [];
const env = { CUSTOMS_SECRET_KEY: randomBytes(32).toString('base64') };

async function admin_sql(q: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query(q);
  } finally {
    await c.end();
  }
}

let base: Buffer;
/** A distinct small image (Alpine 3.7.3 plus a marker layer), pushed to the registry; its digest. */
async function push(n: number): Promise<string> {
  base ??= await rootfsLayer(readFileSync(shared('images/alpine/alpine-minirootfs-3.7.3-x86_64.tar.gz')));
  const dir = join(tmp, `img${n}`);
  mkdirSync(dir);
  const { manifestDigest } = ociLayout(dir, {
    layers: [base, await makeTar([{ name: 'etc/marker', content: `image ${n}` }])],
  });
  skopeoCopy(`oci:${dir}:latest`, `docker://${reg.host}/fleet/app${n % 4}:v${n}`);
  return manifestDigest;
}

function worker(name: string): CustomsProcess {
  const w = new CustomsProcess(
    ['worker', '--database', url, '--db', vulndb, '--job-expire', '5', '--data', join(tmp, name)],
    env,
  );
  w.start();
  workers.push(w);
  return w;
}

async function allScanned(digests: string[], ms: number): Promise<void> {
  await waitFor(
    async () => {
      const items = (await admin.get('/api/v1/images?limit=500')).body.items as Array<{
        digest: string;
        status: string;
      }>;
      const done = new Set(items.filter((i) => i.status === 'scanned').map((i) => i.digest));
      return digests.every((d) => done.has(d));
    },
    ms,
    `scans of ${digests.length} images\n${workers.map((w) => w.log.slice(-1500)).join('\n---\n')}`,
  );
}

describe('customs server + workers on PostgreSQL', { skip, timeout: 300_000 }, () => {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-pg-'));
    vulndb = join(tmp, 'vuln.db');
    assert.equal(
      customs(['db', 'import', shared('advisories/alpine-secdb'), '--db', vulndb, '-q']).status,
      0,
    );
    await admin_sql(`CREATE DATABASE ${dbName}`);
    const port = await freePort();
    const hookToken = makeToken(['--database', url], 'webhook', [], env);
    reg = new Registry(join(tmp, 'registry'), await freePort(), '', notifyCustoms(port, hookToken, 10));
    await reg.start();
    server = new CustomsServer(
      port,
      [
        '--database',
        url,
        '--db',
        vulndb,
        '--workers',
        '0',
        '--job-expire',
        '5',
        '--data',
        join(tmp, 'server'),
      ],
      env,
    );
    await server.start();
    admin = new Api(server.url, makeToken(['--database', url], 'admin', [], env));
    assert.equal(
      (await admin.post('/api/v1/registries', { url: `http://${reg.host}`, insecure: true })).status,
      201,
    );
  });
  after(async () => {
    for (const w of workers) await w.stop('SIGKILL');
    await server?.stop();
    await reg?.stop();
    await admin_sql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('scans 20 pushed images on two workers', async () => {
    const a = worker('a');
    const b = worker('b');
    await a.waitForLog(/customs worker ready/);
    await b.waitForLog(/customs worker ready/);
    const digests: string[] = [];
    for (let i = 0; i < 20; i++) digests.push(await push(i));
    await allScanned(digests, 120_000);
    const count = (w: CustomsProcess) => (w.log.match(/"msg":"scanned"/g) ?? []).length;
    // A worker logs "scanned" after storing the scan the API already shows: wait for the lines.
    await waitFor(() => count(a) + count(b) >= 20, 10_000, 'every "scanned" line').catch(() => {});
    assert.equal(count(a) + count(b), 20, 'each image scanned exactly once');
    assert.ok(count(a) > 0 && count(b) > 0, `spread: a ${count(a)}, b ${count(b)}`);
    const detail = await admin.get(`/api/v1/images/${digests[0]}`);
    assert.ok(detail.body.scan.findings.some((f: { id: string }) => f.id === 'CVE-2019-14697'));
  });

  it('finishes a job on another worker when its worker is killed mid-scan', async () => {
    const [a, b] = workers;
    // Worker b leaves gracefully: it finishes what it runs and exits 0.
    assert.equal(await b.stop('SIGTERM'), 0);
    const digest = await push(20);
    await a.waitForLog(new RegExp(`job started.*${digest.slice(7)}`), 30_000);
    await a.stop('SIGKILL');
    const c = worker('c');
    await allScanned([digest], 60_000);
    assert.match(
      c.log,
      new RegExp(`"msg":"scanned".*${digest.slice(7)}|${digest.slice(7)}.*"msg":"scanned"`),
    );
  });

  it('signs the audit log on PostgreSQL, and keeps a sign-in lockout in the shared store', async () => {
    assert.equal(
      (await admin.post('/api/v1/users', { name: 'ops', role: 'viewer', password: 'a long enough password' }))
        .status,
      201,
    );
    const anon = new Api(server.url);
    for (let i = 0; i < 5; i++)
      assert.equal(
        (await anon.post('/api/v1/auth/login', { username: 'ops', password: `no ${i}` })).status,
        401,
      );
    const r = await anon.post('/api/v1/auth/login', { username: 'ops', password: 'a long enough password' });
    assert.equal(r.status, 429);
    // What another replica reads: the lock is a row of the shared store, not this process's memory.
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const row = (
        await c.query('select failures, locked_until from sign_in_failures where name = $1', ['ops'])
      ).rows[0];
      assert.equal(row.failures, 5);
      assert.ok(Date.parse(row.locked_until) > Date.now());
    } finally {
      await c.end();
    }
    const v = (await admin.get('/api/v1/audit/verify')).body;
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.equal(v.signatures.status, 'valid');
    assert.equal(v.signatures.signed, v.entries);
    const actions = new Set(
      ((await admin.get('/api/v1/audit?limit=100')).body as Array<{ action: string }>).map((e) => e.action),
    );
    for (const a of ['token.create', 'registry.put', 'user.create', 'session.failed', 'session.locked'])
      assert.ok(actions.has(a), a);
  });

  it('loses nothing when the server restarts', async () => {
    assert.equal(await server.stop(), 0);
    await server.start();
    const items = (await admin.get('/api/v1/images?limit=500')).body.items as Array<{ status: string }>;
    assert.equal(items.length, 21);
    assert.ok(items.every((i) => i.status === 'scanned'));
    const digest = await push(21);
    await allScanned([digest], 30_000);
    const jobs = await admin.get('/api/v1/jobs');
    assert.equal(jobs.body.failed, 0, JSON.stringify(jobs.body.deadLetters));
  });
});
