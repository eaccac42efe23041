import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { attestationKeys, signingKeys } from '../../src/gate/server-key.js';
import { openDb } from '../../src/store/db.js';
import { customs } from '../helpers/run.js';
import { describeStores, freshStore, type TestStore } from '../helpers/stores.js';

// `customs server key create` (issue 31): the server's keys made on demand, the attestation key's
// public half printed and written with --out, nothing overwritten without --rotate, and a rotation
// keeps the old public key listed (retired) so what it signed still verifies. On both stores.
describeStores('customs server key create', {}, (engine) => {
  let tmp: string;
  let store: TestStore;
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-server-key-'));
    store = await freshStore(engine, join(tmp, 'data'), 'server_key');
  });
  after(async () => {
    await store?.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const keys = async () => {
    const db = await openDb(store.where);
    try {
      return { attestation: await attestationKeys(db), audit: await signingKeys(db) };
    } finally {
      await db.close();
    }
  };

  it('makes both keys, prints the attestation key and writes it with --out', async () => {
    const out = join(tmp, 'customs-server.pub');
    const r = customs(['server', 'key', 'create', ...store.args, '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /attestation key [0-9a-f]{64} created/);
    assert.match(r.stderr, /audit signing key [0-9a-f]{64} created/);
    assert.equal(readFileSync(out, 'utf8'), r.stdout);
    assert.equal(createPublicKey(r.stdout).asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const k = await keys();
    assert.equal(k.attestation.length, 1);
    assert.equal(k.attestation[0].publicKey, r.stdout);
    assert.equal(k.audit.length, 1);
    assert.notEqual(k.audit[0].id, k.attestation[0].id);
  });

  it('run again, it keeps the key (no overwrite without --rotate)', async () => {
    const before = await keys();
    const r = customs(['server', 'key', 'create', ...store.args]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /attestation key [0-9a-f]{64} exists \(--rotate replaces it\)/);
    assert.equal(r.stdout, before.attestation[0].publicKey);
    assert.deepEqual(await keys(), before);
  });

  it('--rotate makes a new attestation key and keeps the old one listed, retired; the audit key stays', async () => {
    const before = await keys();
    const r = customs(['server', 'key', 'create', ...store.args, '--rotate']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /attestation key [0-9a-f]{64} created \([0-9a-f]{16}… retired\)/);
    const k = await keys();
    assert.equal(k.attestation.length, 2);
    const active = k.attestation.filter((x) => !x.retiredAt);
    assert.equal(active.length, 1);
    assert.equal(active[0].publicKey, r.stdout);
    assert.notEqual(active[0].id, before.attestation[0].id);
    assert.ok(k.attestation.find((x) => x.id === before.attestation[0].id)?.retiredAt, 'old one retired');
    assert.deepEqual(k.audit, before.audit);
  });

  it('another secret key can neither open nor rotate the keys', () => {
    const other = { CUSTOMS_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') };
    const r = customs(['server', 'key', 'create', ...store.args, '--rotate'], { env: other });
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr, /secret key/);
  });
});
