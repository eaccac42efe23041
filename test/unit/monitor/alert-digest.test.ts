import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AlertDispatcher } from '../../../src/monitor/alerts.js';
import { addChannel } from '../../../src/store/alerts.js';
import { now, openDb, type Db } from '../../../src/store/db.js';
import { SecretBox } from '../../../src/store/secret-box.js';

// Many alerts at once (a database update touching many running images) reach a channel as one
// digest once the channel's alerts have settled; a lone alert and notices go out as before.
let tmp: string;
let db: Db;
let box: SecretBox;
let server: Server;
let url: string;
const received: Array<{ body: Record<string, unknown>; signature?: string; raw: string }> = [];
let refuse = false;

const finding = (id: string, kev = false) => ({
  id,
  package: 'openssl',
  version: '3.0.7',
  severity: 'CRITICAL',
  kev,
  fixedVersion: '3.0.8',
});

async function queue(channel: number, image: string, findings: object[], kind = 'findings') {
  await db.k
    .insertInto('alerts')
    .values({
      key: `${channel}|production|${image}|v2|${kind}`,
      channel_id: channel,
      environment: 'production',
      image,
      db_version: 'v2',
      findings: JSON.stringify(findings),
      ...(kind !== 'findings' ? { kind, summary: `notice about ${image}` } : {}),
      state: 'pending',
      attempts: 0,
      run_after: now(),
      created_at: now(),
    })
    .execute();
}
const states = async () =>
  (await db.k.selectFrom('alerts').select(['image', 'state', 'attempts']).orderBy('id').execute()).map(
    (r) => `${r.image} ${r.state}`,
  );

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-digest-'));
  db = await openDb({ data: tmp });
  box = SecretBox.fromEnvOrFile(join(tmp, 'secret.key'));
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      if (refuse) {
        res.writeHead(503).end();
        return;
      }
      received.push({ body: JSON.parse(raw), signature: req.headers['x-customs-signature'] as string, raw });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
});
after(async () => {
  await db.close();
  server.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('alert digests across images', () => {
  it('alerts for three images are held until they settle, then sent as one signed digest', async () => {
    const channel = await addChannel(db, box, { type: 'webhook', target: url, secret: 's3cret' });
    const d = new AlertDispatcher({ db, box, digestQuietMs: 300, log: () => {} });
    for (const img of ['reg/a@sha256:1', 'reg/b@sha256:2', 'reg/c@sha256:3'])
      await queue(channel, img, [finding('CVE-2026-0001', true)]);
    await d.tick();
    assert.equal(received.length, 0, 'held while more may come');
    await new Promise((r) => setTimeout(r, 350));
    await d.tick();
    assert.equal(received.length, 1, 'one message for three images');
    const { body, signature, raw } = received[0];
    assert.equal(body.type, 'customs.alert.digest');
    assert.equal(body.summary, 'CVE-2026-0001 (KEV) now affects 3 images running in production');
    assert.deepEqual(
      (body.alerts as Array<{ image: string }>).map((a) => a.image),
      ['reg/a@sha256:1', 'reg/b@sha256:2', 'reg/c@sha256:3'],
    );
    assert.equal(signature, `sha256=${createHmac('sha256', 's3cret').update(raw).digest('hex')}`);
    assert.deepEqual(await states(), [
      'reg/a@sha256:1 delivered',
      'reg/b@sha256:2 delivered',
      'reg/c@sha256:3 delivered',
    ]);
  });

  it('a lone alert is an ordinary alert; a notice is never folded into a digest', async () => {
    received.length = 0;
    await db.k.deleteFrom('alerts').execute();
    const channel = (await db.k.selectFrom('channels').select('id').executeTakeFirstOrThrow()).id;
    const d = new AlertDispatcher({ db, box, digestQuietMs: 100, log: () => {} });
    await queue(channel, 'reg/a@sha256:1', [finding('CVE-2026-0002')]);
    await queue(channel, 'reg/b@sha256:2', [], 'policy');
    await d.tick();
    assert.deepEqual(
      received.map((r) => r.body.summary),
      ['notice about reg/b@sha256:2'],
      'the notice at once',
    );
    await new Promise((r) => setTimeout(r, 150));
    await d.tick();
    assert.equal(received.length, 2);
    assert.equal(received[1].body.type, 'customs.alert');
    assert.equal(received[1].body.summary, 'CVE-2026-0002 now affects reg/a@sha256:1 running in production');
  });

  it('a digest that cannot be delivered is retried, then every alert in it is recorded as failed', async () => {
    received.length = 0;
    await db.k.deleteFrom('alerts').execute();
    const channel = (await db.k.selectFrom('channels').select('id').executeTakeFirstOrThrow()).id;
    const d = new AlertDispatcher({
      db,
      box,
      digestQuietMs: 0,
      backoffMs: 20,
      maxAttempts: 2,
      log: () => {},
    });
    await queue(channel, 'reg/a@sha256:1', [finding('CVE-2026-0003')]);
    await queue(channel, 'reg/b@sha256:2', [finding('CVE-2026-0004')]);
    refuse = true;
    await d.tick();
    assert.deepEqual(await states(), ['reg/a@sha256:1 pending', 'reg/b@sha256:2 pending']);
    await new Promise((r) => setTimeout(r, 60));
    await d.tick();
    refuse = false;
    const rows = await db.k.selectFrom('alerts').select(['state', 'attempts', 'last_error']).execute();
    assert.deepEqual(
      rows.map((r) => [r.state, Number(r.attempts)]),
      [
        ['failed', 2],
        ['failed', 2],
      ],
    );
    assert.match(rows[0].last_error ?? '', /answered HTTP 503/);
  });
});
