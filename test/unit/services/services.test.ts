import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { CustomsError } from '../../../src/errors.js';
import { GateError } from '../../../src/gate/errors.js';
import { CHANNELS, channelFor } from '../../../src/monitor/channels/index.js';
import { audit, withAudit } from '../../../src/services/audit.js';
import { asInvalid, DomainError } from '../../../src/services/errors.js';
import { recordOutcome } from '../../../src/services/outcome.js';
import { issueToken, putRegistry, revokeTokenAudited } from '../../../src/services/settings.js';
import { registrySecrets } from '../../../src/store/registries.js';
import { SecretBox } from '../../../src/store/secret-box.js';
import { HttpError } from '../../../src/server/errors.js';
import { listAudit, verifyAudit } from '../../../src/gate/audit.js';
import { createToken, listTokens } from '../../../src/store/auth.js';
import { peopleNames, personOf, withPeople } from '../../../src/services/people.js';
import { openDb, type Db } from '../../../src/store/db.js';
import { findingEvents } from '../../../src/store/finding-events.js';
import type { Finding } from '../../../src/model/scan.js';

describe('the service layer', () => {
  let tmp: string;
  let db: Db;
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-services-'));
    db = await openDb({ database: join(tmp, 's.sqlite') });
  });
  after(async () => {
    await db?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('withAudit lands a change and its entry together, or neither', async () => {
    const ctx = { db, actor: 'user:al' };
    const t = await issueToken(ctx, { name: 'ci', role: 'developer' }, 'al');
    let entries = await listAudit(db, { action: 'token.create' });
    assert.equal(entries.length, 1);
    assert.equal(entries[0].actor, 'user:al');
    assert.equal(entries[0].subject, `token:${t.id}`);
    assert.deepEqual(entries[0].details, {
      name: 'ci',
      createdBy: 'al',
      role: 'developer',
      scopes: null,
      environments: null,
      expires: null,
    });
    // A change that throws after writing rolls back with its entry.
    await assert.rejects(
      withAudit(ctx, 'token.create', async (trx) => {
        await trx.k.updateTable('tokens').set({ name: 'renamed' }).where('id', '=', t.id).execute();
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal((await listTokens(db)).find((x) => x.id === t.id)?.name, 'ci');
    entries = await listAudit(db, { action: 'token.create' });
    assert.equal(entries.length, 1);
    // Nothing changed (no live token of that id): no entry.
    assert.equal(await revokeTokenAudited(ctx, 999_999), false);
    assert.equal((await listAudit(db, { action: 'token.revoke' })).length, 0);
    assert.equal(await revokeTokenAudited(ctx, t.id), true);
    assert.equal((await listAudit(db, { action: 'token.revoke' })).length, 1);
    // `also`: several entries of one change, in order, each with its actor.
    await withAudit({ db, actor: 'anonymous' }, 'session.failed', async () => ({
      value: undefined,
      subject: 'user:x',
      also: [{ actor: 'system', action: 'session.locked', subject: 'user:x' }],
    }));
    await audit({ db, actor: 'system' }, 'db.rescan', 'vulnerability-database', { queued: 0 });
    const [rescan, locked, failed] = await listAudit(db, { limit: 3 });
    assert.deepEqual(
      [failed.action, failed.actor, locked.action, locked.actor, rescan.action],
      ['session.failed', 'anonymous', 'session.locked', 'system', 'db.rescan'],
    );
    assert.equal((await verifyAudit(db)).ok, true);
  });

  it('a store refusal through a settings service is an invalid request', async () => {
    await assert.rejects(
      issueToken({ db, actor: 'user:al' }, { name: 'x', role: 'emperor' }, 'al'),
      (err: unknown) => {
        assert.ok(err instanceof DomainError);
        assert.equal(err.kind, 'invalid');
        assert.equal(err.status, 400);
        assert.equal(err.code, 'invalid_request');
        return true;
      },
    );
    assert.equal((await listAudit(db, { action: 'token.create' })).length, 1);
  });

  it('one DomainError: kinds map to statuses, codes stay as the API gave them', async () => {
    const app = Fastify();
    app.setErrorHandler((err, _req, reply) => {
      if (err instanceof DomainError)
        return reply.code(err.status).send({ error: { code: err.code, message: err.message } });
      return reply.code(500).send({ error: { code: 'internal', message: 'internal error' } });
    });
    const cases: Array<[string, () => unknown, number, string]> = [
      ['gate-conflict', () => new GateError('already approved', 'conflict'), 409, 'conflict'],
      ['gate-invalid', () => new GateError('bad', 'invalid'), 400, 'invalid_request'],
      ['http', () => new HttpError(404, 'registry_not_configured', 'add it'), 404, 'registry_not_configured'],
      ['locked', () => new DomainError('too_many', 'locked', 'locked'), 429, 'locked'],
      ['upstream', () => new DomainError('upstream', 'no', 'update_failed'), 502, 'update_failed'],
    ];
    for (const [name, make] of cases)
      app.get(`/${name}`, async () => {
        throw make();
      });
    app.get('/customs', () => asInvalid(async () => Promise.reject(new CustomsError('bad role'))));
    app.get('/kept', () => asInvalid(async () => Promise.reject(new GateError('no', 'forbidden'))));
    app.get('/bug', () => asInvalid(async () => Promise.reject(new Error('secret detail'))));
    for (const [name, , status, code] of cases) {
      const r = await app.inject(`/${name}`);
      assert.equal(r.statusCode, status, name);
      assert.equal(r.json().error.code, code, name);
    }
    assert.deepEqual((await app.inject('/customs')).json(), {
      error: { code: 'invalid_request', message: 'bad role' },
    });
    assert.equal((await app.inject('/kept')).statusCode, 403);
    assert.deepEqual((await app.inject('/bug')).json(), {
      error: { code: 'internal', message: 'internal error' },
    });
    await app.close();
  });

  it('recordOutcome keeps the finding events of a result', async () => {
    const f = (id: string): Finding =>
      ({
        id,
        aliases: [],
        package: { name: 'openssl', version: '3.0.7', type: 'apk' },
        severity: { level: 'critical' },
        kev: id === 'CVE-2',
      }) as unknown as Finding;
    const digest = `sha256:${'a'.repeat(64)}`;
    const alerts = await recordOutcome(db, [
      { digest, version: 'v2', changes: { introduced: [f('CVE-1')], fixed: [f('CVE-0')], changed: [] } },
    ]);
    // Not running anywhere: no alert.
    assert.equal(alerts, 0);
    const events = await findingEvents(db, digest);
    assert.deepEqual(events.map((e) => [e.kind, e.vulnerability, e.dbVersion]).sort(), [
      ['fixed', 'CVE-0', 'v2'],
      ['new', 'CVE-1', 'v2'],
    ]);
  });

  it('alert channels are one list, and an unknown type is sent as the generic webhook', () => {
    assert.deepEqual(
      CHANNELS.map((c) => c.type),
      ['webhook', 'slack', 'teams', 'email'],
    );
    assert.equal(channelFor('nope').type, 'webhook');
  });
  it('people, not tokens: a token acting is named after who issued it', async () => {
    const mine = await issueToken({ db, actor: 'user:alice' }, { name: 'cli', role: 'approver' }, 'alice');
    const named = await issueToken({ db, actor: 'user:alice' }, { role: 'viewer' }, 'alice');
    assert.equal(named.name, 'alice'); // no name: called after its issuer
    const old = await createToken(db, { name: 'legacy', role: 'viewer' }); // issued before owners were kept
    const names = await peopleNames(db, [
      `token:cli#${mine.id}`,
      `token:alice#${named.id}`,
      `token:legacy#${old.id}`,
      'user:bob',
      'cli:root',
      'system',
      null,
    ]);
    assert.deepEqual(Object.fromEntries(names), {
      [`token:cli#${mine.id}`]: 'alice (token cli)',
      [`token:alice#${named.id}`]: `alice (token #${named.id})`,
      [`token:legacy#${old.id}`]: 'token legacy',
      'user:bob': 'bob',
      'cli:root': 'root (server command line)',
      system: 'Customs',
    });
    const rows = await withPeople(
      db,
      [{ decidedBy: `token:cli#${mine.id}`, requestedBy: null }],
      ['decidedBy', 'requestedBy'],
    );
    assert.deepEqual(rows, [
      { decidedBy: `token:cli#${mine.id}`, requestedBy: null, decidedByName: 'alice (token cli)' },
    ]);
    assert.equal(personOf((await listTokens(db)).find((t) => t.id === mine.id)), 'alice');
  });
});

describe('registry settings keep their secrets', () => {
  let tmp: string;
  let db: Db;
  let box: SecretBox;
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-registries-'));
    db = await openDb({ database: join(tmp, 's.sqlite') });
    box = SecretBox.fromEnvOrFile(join(tmp, 'secret.key'));
  });
  after(async () => {
    await db?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('a field left out keeps the stored secret; an empty string clears it', async () => {
    const ctx = { db, actor: 'user:al' };
    const url = 'https://registry.example:5000';
    await putRegistry(ctx, box, { url, username: 'pull', password: 'p1', webhookSecret: 'w'.repeat(16) });
    // Changing another setting, as a client re-posting what it read back would (no secrets in it).
    const changed = await putRegistry(ctx, box, { url, insecure: true, attest: true });
    assert.equal(changed.insecure, true);
    assert.equal(changed.hasCredentials, true);
    assert.equal(changed.hasWebhookSecret, true);
    assert.deepEqual(await registrySecrets(db, box, 'registry.example:5000'), {
      username: 'pull',
      password: 'p1',
      webhookSecret: 'w'.repeat(16),
    });
    // A new password replaces only the password; '' clears the webhook secret.
    await putRegistry(ctx, box, { url, password: 'p2', webhookSecret: '' });
    assert.deepEqual(await registrySecrets(db, box, 'registry.example:5000'), {
      username: 'pull',
      password: 'p2',
    });
    // Every secret cleared: nothing sealed is left.
    const none = await putRegistry(ctx, box, { url, username: '', password: '' });
    assert.equal(none.hasCredentials, false);
    assert.equal(none.hasWebhookSecret, false);
  });
});
