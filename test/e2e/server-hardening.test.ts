/* eslint-disable @typescript-eslint/no-explicit-any -- API answers are checked against the OpenAPI document, not typed here */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { shared } from '../helpers/paths.js';
import { freePort } from '../helpers/registry.js';
import { customs, customsAsync } from '../helpers/run.js';
import { Api, CustomsServer, makeToken, waitFor, webhookReceiver } from '../helpers/server.js';
import { describeStores, freshStore, type Engine, type TestStore } from '../helpers/stores.js';

// What a token holder or a database writer could do against `customs server` on SQLite and on
// PostgreSQL, tried over HTTP on loopback: guess passwords, read secrets from the log, change
// settings unseen, rewrite the audit log, send bodies that break the parser. Every answer is
// checked against the server's OpenAPI document.

let tmp: string;
let data: string;
let server: CustomsServer;
let admin: Api;
let adminToken: string;
let receiver: { bodies: any[]; close: () => void; url: string };

const REGISTRY_PASSWORD = `registry-pw-${randomBytes(6).toString('hex')}`;
const CHANNEL_SECRET = `channel-secret-${randomBytes(6).toString('hex')}`;

/** The newest audit entries, newest first. */
const audit = async (query: Record<string, string | number> = {}) =>
  (
    await admin.get(
      `/api/v1/audit?${new URLSearchParams({ limit: '1000', ...query } as Record<string, string>)}`,
    )
  ).body as any[];

/** The store of the round: SQLite in the data folder, or a PostgreSQL database of its own. */
let st: TestStore;
const store = () => st.args;

describeStores(
  'customs server: sign-in, logs, audit and request bodies under attack',
  { timeout: 120_000 },
  hardeningTests,
);

/** One round on one store; what reads or writes the SQLite file itself runs on SQLite only. */
function hardeningTests(engine: Engine): void {
  const sqliteOnly = { skip: engine === 'postgres' ? 'reads or writes the SQLite file' : false };
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-hardening-'));
    data = join(tmp, 'data');
    st = await freshStore(engine, data, 'hardening');
    const vulndb = join(tmp, 'vuln.db');
    assert.equal(
      customs(['db', 'import', shared('advisories/alpine-secdb'), '--db', vulndb, '-q']).status,
      0,
    );
    receiver = await webhookReceiver();
    adminToken = makeToken(store(), 'admin', ['--name', 'admin']);
    server = new CustomsServer(
      await freePort(),
      [
        ...store(),
        '--db',
        vulndb,
        '--workers',
        '0',
        '--db-update-interval',
        '0',
        // Nothing listens there: an update fails at once (and is audited all the same).
        '--db-repository',
        '127.0.0.1:9/customs/db:1',
        '--db-insecure',
        // The first channel made below receives the audit head every second.
        '--audit-export-channel',
        '1',
        '--audit-export-interval',
        '1',
      ],
      { CUSTOMS_ALERT_RETRY_MS: '100' },
    );
    await server.start();
    admin = new Api(server.url, adminToken);
  });
  after(async () => {
    await server?.stop();
    receiver?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    await st?.drop();
  });

  it('keeps the store to its owner: folder 0700, database, WAL and keys 0600', sqliteOnly, () => {
    assert.equal(statSync(data).mode & 0o777, 0o700);
    for (const f of ['customs.sqlite', 'customs.sqlite-wal', 'customs.sqlite-shm', 'secret.key'])
      assert.equal(statSync(join(data, f)).mode & 0o777, 0o600, f);
  });

  it('locks an account after 5 wrong passwords, refuses even the right one, and audits it', async () => {
    assert.equal(
      (
        await admin.post('/api/v1/users', {
          name: 'lead',
          role: 'approver',
          password: 'correct horse battery',
        })
      ).status,
      201,
    );
    const anon = new Api(server.url);
    const login = (password: string) => anon.post('/api/v1/auth/login', { username: 'lead', password });
    for (let i = 1; i <= 4; i++) assert.equal((await login(`wrong password ${i}`)).status, 401);
    const fifth = await login('wrong password 5');
    assert.equal(fifth.status, 401);
    assert.match(fifth.body.error.message, /lead is now locked for 15 minutes/);
    const right = await login('correct horse battery');
    assert.equal(right.status, 429, 'the right password is refused while the account is locked');
    assert.equal(right.body.error.code, 'locked');
    // The dashboard's sign-in shares the lock.
    const cookie = await anon.post('/api/v1/auth/session', {
      username: 'lead',
      password: 'correct horse battery',
    });
    assert.equal(cookie.status, 429);
    const entries = await audit({ subject: 'user:lead' });
    assert.equal(entries.filter((e) => e.action === 'session.failed').length, 5);
    const locked = entries.find((e) => e.action === 'session.locked');
    assert.equal(locked.details.failures, 5);
    assert.equal(locked.details.address, '127.0.0.1');
    assert.ok(!entries.some((e) => e.action === 'session.start'));
  });

  it('limits sign-in attempts per address, across names and both sign-in routes', async () => {
    const anon = new Api(server.url);
    let limited: any;
    // 7 attempts were made above; the budget is 20 a minute per address.
    for (let i = 0; i < 20 && !limited; i++) {
      const r = await anon.post(i % 2 ? '/api/v1/auth/login' : '/api/v1/auth/session', {
        username: `guess-${i}`,
        password: 'not the password',
      });
      if (r.status === 429) limited = r;
      else assert.equal(r.status, 401);
    }
    assert.ok(limited, 'an address is throttled within its budget');
    assert.equal(limited.body.error.code, 'rate_limited');
    assert.match(limited.body.error.message, /too many requests from this address/);
  });

  it('writes no secret to the log: query values and authorization headers are redacted', async () => {
    const secret = `dockerhub-${randomBytes(8).toString('hex')}`;
    const r = await fetch(`${server.url}/webhooks/dockerhub?secret=${secret}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}-header` },
      body: JSON.stringify({ repository: { repo_name: 'team/app' }, push_data: { tag: '1.0' } }),
    });
    assert.ok(r.status >= 400);
    await r.body?.cancel();
    await waitFor(
      () => server.log.includes('/webhooks/dockerhub?secret=[redacted]'),
      5000,
      'the request log',
    );
    assert.ok(!server.log.includes(secret), 'the webhook secret is not in the log');
    assert.ok(!server.log.includes(adminToken), 'no token is in the log');
  });

  it('answers malformed and too-deep JSON with a clear 400, and keeps serving', async () => {
    const post = (body: string) =>
      fetch(`${server.url}/api/v1/reports`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
        body,
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const deep = await post(`{"image":{"manifestDigest":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`);
    assert.equal(deep.status, 400);
    assert.deepEqual(deep.body.error, {
      code: 'too_deep',
      message: 'the request body nests deeper than 64 levels',
    });
    const broken = await post('{"image": {');
    assert.equal(broken.status, 400);
    assert.equal(broken.body.error.code, 'malformed_json');
    assert.match(broken.body.error.message, /^the request body is not valid JSON: /);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  it('audits every admin route of the OpenAPI document, without credentials', async () => {
    const doc = (await admin.load()) as any;
    const ids: Record<string, number | string> = {};
    // One real call per admin route, in an order that makes what the next one needs.
    const calls: Array<[string, () => Promise<{ status: number; body: any }>]> = [
      [
        'POST /api/v1/channels',
        () => admin.post('/api/v1/channels', { type: 'webhook', url: receiver.url, secret: CHANNEL_SECRET }),
      ],
      [
        'POST /api/v1/registries',
        () =>
          admin.post('/api/v1/registries', {
            url: 'http://127.0.0.1:9',
            insecure: true,
            username: 'robot',
            password: REGISTRY_PASSWORD,
          }),
      ],
      [
        'POST /api/v1/watches',
        async () => {
          const r = await admin.post('/api/v1/watches', {
            registry: '127.0.0.1:9',
            repository: 'team/app',
            intervalSeconds: 86400,
          });
          ids.watch = r.body.id;
          return r;
        },
      ],
      ['DELETE /api/v1/watches/{id}', () => admin.del(`/api/v1/watches/${ids.watch}`)],
      ['DELETE /api/v1/registries/{host}', () => admin.del('/api/v1/registries/127.0.0.1:9')],
      [
        'POST /api/v1/tokens',
        async () => {
          const r = await admin.post('/api/v1/tokens', { name: 'walk', role: 'viewer' });
          ids.token = r.body.id;
          return r;
        },
      ],
      ['DELETE /api/v1/tokens/{id}', () => admin.del(`/api/v1/tokens/${ids.token}`)],
      [
        'POST /api/v1/users',
        async () => {
          const r = await admin.post('/api/v1/users', {
            name: 'walker',
            role: 'viewer',
            password: 'a long enough password',
          });
          ids.user = r.body.id;
          return r;
        },
      ],
      ['PUT /api/v1/users/{id}', () => admin.put(`/api/v1/users/${ids.user}`, { role: 'developer' })],
      [
        'POST /api/v1/environments',
        () => admin.post('/api/v1/environments', { name: 'qa', exposure: 'internal' }),
      ],
      [
        'PUT /api/v1/environments/{name}/gate',
        () => admin.put('/api/v1/environments/qa/gate', { requireDigest: true }),
      ],
      [
        'PUT /api/v1/environments/{name}/alert-rules',
        () => admin.put('/api/v1/environments/qa/alert-rules', { critical: true }),
      ],
      ['POST /api/v1/db/update', () => admin.post('/api/v1/db/update', undefined)],
      ['POST /api/v1/rescans', () => admin.post('/api/v1/rescans', { all: true })],
    ];
    const adminRoutes = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([p, ops]) =>
      Object.entries(ops)
        .filter(([m, op]) => m !== 'get' && op['x-permission'] === 'admin')
        .map(([m]) => `${m.toUpperCase()} ${p}`),
    );
    assert.deepEqual(
      [...adminRoutes].sort(),
      calls.map(([k]) => k).sort(),
      'every admin route of the document is called here (a new one needs a call)',
    );
    for (const [route, call] of calls) {
      const head = (await audit({ limit: 1 }))[0]?.seq ?? 0;
      const r = await call();
      assert.ok(
        r.status < 300 || route === 'POST /api/v1/db/update',
        `${route}: ${r.status} ${JSON.stringify(r.body)}`,
      );
      const added = (await audit()).filter((e) => e.seq > head && /^token:admin#/.test(e.actor));
      assert.ok(added.length >= 1, `${route} wrote an audit entry`);
      assert.ok(
        added.every((e) => Object.keys(e.details).length > 0),
        `${route} says what changed: ${JSON.stringify(added)}`,
      );
    }
    const all = JSON.stringify(await audit());
    assert.ok(!all.includes(REGISTRY_PASSWORD), 'no registry password in the audit log');
    assert.ok(!all.includes(CHANNEL_SECRET), 'no channel secret in the audit log');
    const reg = (await audit({ action: 'registry.put' }))[0];
    assert.deepEqual(reg.details.after, {
      url: 'http://127.0.0.1:9',
      insecure: true,
      credentials: 'set',
      webhookSecret: 'set',
      attest: false,
      // Read without the secret key, the entry says only that sealed secrets exist.
      pushCredentials: 'set',
    });
    const update = (await audit({ action: 'db.update' }))[0];
    assert.match(update.details.error, /127\.0\.0\.1:9/);
  });

  it('signs the audit log, exports its head, and finds a re-chained log', sqliteOnly, async () => {
    const key = (await new Api(server.url).get('/api/v1/signing-key', { accept: 'application/json' })).body
      .key;
    assert.equal(key.algorithm, 'ECDSA-P256-SHA256');
    let v = (await admin.get('/api/v1/audit/verify')).body;
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.equal(v.signatures.status, 'valid');
    assert.equal(v.signatures.signed, v.entries, "every entry is signed (the CLI's token too)");
    assert.deepEqual(v.signatures.keys, [key.id]);

    // The head reaches the channel, signed: checked here with the public key alone.
    let exported: any;
    await waitFor(
      () => {
        exported = receiver.bodies.filter((b) => b.kind === 'audit-head').at(-1);
        return !!exported;
      },
      10_000,
      `an exported audit head\n${server.log.slice(-2000)}`,
    );
    const m = /entry (\d+), hash ([0-9a-f]{64}); signed by key ([0-9a-f]{64}): ([A-Za-z0-9+/=]+);/.exec(
      exported.summary,
    );
    assert.ok(m, exported.summary);
    assert.equal(m[3], key.id);
    assert.ok(
      verify(
        'sha256',
        Buffer.from(`customs-audit-head-v1\n${m[1]}\n${m[2]}`),
        createPublicKey(key.publicKey),
        Buffer.from(m[4], 'base64'),
      ),
    );
    const entry = (await audit({ before: Number(m[1]) + 1, limit: 1 }))[0];
    assert.equal(entry.hash, m[2]);

    // Someone with the database file rewrites who made the token, and re-computes every hash after.
    const db = new Database(join(data, 'customs.sqlite'));
    const rows = db.prepare('select * from audit_log order by seq').all() as any[];
    rows[0].actor = 'cli:nobody';
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      r.prev_hash = i ? rows[i - 1].hash : '0'.repeat(64);
      r.hash = createHash('sha256')
        .update(JSON.stringify([r.seq, r.at, r.actor, r.action, r.subject, r.details, r.prev_hash]))
        .digest('hex');
      db.prepare('update audit_log set actor = ?, prev_hash = ?, hash = ? where seq = ?').run(
        r.actor,
        r.prev_hash,
        r.hash,
        r.seq,
      );
    }
    db.close();
    v = (await admin.get('/api/v1/audit/verify')).body;
    assert.equal(v.ok, false);
    assert.deepEqual(v.broken, {
      seq: 1,
      reason: 'its signature does not match its hash (re-chained or forged)',
    });
    assert.equal(v.signatures.status, 'invalid');
    const cli = await customsAsync(['server', 'audit', 'verify', '--data', data]);
    assert.equal(cli.status, 1);
    assert.match(cli.stdout, /BROKEN at entry 1: its signature does not match its hash/);
  });
}

describe('customs server behind a TLS-terminating proxy', { timeout: 60_000 }, () => {
  it('--trust-proxy --public-url https://… : Secure cookies, and the forwarded client address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'customs-proxy-'));
    const servers: CustomsServer[] = [];
    try {
      const signIn = async (trusting: boolean) => {
        const d = join(dir, trusting ? 'trusting' : 'plain');
        const s = new CustomsServer(await freePort(), [
          '--data',
          d,
          '--workers',
          '0',
          '--db-update-interval',
          '0',
          ...(trusting ? ['--trust-proxy', '--public-url', 'https://customs.example.com'] : []),
        ]);
        servers.push(s);
        await s.start();
        const a = new Api(s.url, makeToken(['--data', d], 'admin'));
        assert.equal(
          (await a.post('/api/v1/users', { name: 'ann', role: 'viewer', password: 'a long enough password' }))
            .status,
          201,
        );
        const forwarded = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' };
        const res = await fetch(`${s.url}/api/v1/auth/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...forwarded },
          body: JSON.stringify({ username: 'ann', password: 'a long enough password' }),
        });
        assert.equal(res.status, 200);
        const cookies = res.headers.getSetCookie();
        await new Api(s.url).post('/api/v1/auth/login', { username: 'ann', password: 'wrong' }, forwarded);
        const failed = (await a.get('/api/v1/audit?action=session.failed')).body[0];
        return { cookies, address: failed.details.address };
      };
      const plain = await signIn(false);
      assert.ok(plain.cookies.some((c) => c.startsWith('customs_session=')));
      assert.ok(
        !plain.cookies.some((c) => /;\s*Secure/i.test(c)),
        'plain HTTP, no proxy trusted: not Secure',
      );
      assert.equal(plain.address, '127.0.0.1', 'X-Forwarded-For is not believed without --trust-proxy');
      const proxied = await signIn(true);
      assert.ok(proxied.cookies.filter((c) => /^customs_/.test(c)).every((c) => /;\s*Secure/i.test(c)));
      assert.equal(proxied.address, '203.0.113.7');
    } finally {
      for (const s of servers) await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
