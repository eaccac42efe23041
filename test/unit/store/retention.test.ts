import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ScanResult } from '../../../src/model/scan.js';
import { serverConfig } from '../../../src/server/run.js';
import { openDb, type Db } from '../../../src/store/db.js';
import { recordImage, saveInventory, saveScan } from '../../../src/store/images.js';
import { packSet } from '../../../src/store/results.js';
import { collectGarbage } from '../../../src/store/retention.js';
import { cleanResult } from '../../helpers/results.js';

// `--retain-scans` and the collection of unreferenced finding sets on the embedded store (the
// PostgreSQL side, with real patches from a fleet re-match, is in fleet-rematch.test.ts).

const result = (name: string): ScanResult => cleanResult(name);

describe('retention', () => {
  let tmp: string;
  let db: Db;
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-retention-'));
    db = await openDb({ database: join(tmp, 'store.sqlite') });
  });
  after(async () => {
    await db?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('--retain-scans / CUSTOMS_RETAIN_SCANS: 0 keeps every scan, a negative count is refused', () => {
    const data = join(tmp, 'data');
    assert.equal(serverConfig({ data }).retainScans, 0);
    assert.equal(serverConfig({ data, retainScans: '3' }).retainScans, 3);
    process.env.CUSTOMS_RETAIN_SCANS = '2';
    try {
      assert.equal(serverConfig({ data }).retainScans, 2);
      assert.equal(serverConfig({ data, retainScans: '5' }).retainScans, 5, 'the flag over the environment');
    } finally {
      delete process.env.CUSTOMS_RETAIN_SCANS;
    }
    assert.throws(() => serverConfig({ data, retainScans: '-1' }), /retainScans must be a number ≥ 0/);
  });

  it('keeps the newest N scans of each image and collects finding sets nothing names once old enough', async () => {
    const digests = [`sha256:${'1'.repeat(64)}`, `sha256:${'2'.repeat(64)}`];
    for (const digest of digests) {
      await recordImage(db, { registry: 'r.local', repository: 'team/app', digest });
      await saveInventory(db, digest, { image: { name: 'team/app' } as never, packages: [], warnings: [] });
      for (const v of ['v1', 'v2', 'v3'])
        await saveScan(db, {
          digest,
          dbVersion: v,
          source: 'test',
          result: result('team/app'),
          durationMs: 1,
        });
    }
    const orphan = packSet({ findings: [], suppressed: [] }, '{"orphan":1}');
    const young = packSet({ findings: [], suppressed: [] }, '{"young":1}');
    await db.k
      .insertInto('finding_sets')
      .values([
        { ...orphan, created_at: '2000-01-01T00:00:00.000Z' },
        { ...young, created_at: new Date().toISOString() },
      ])
      .execute();
    const scans = async () =>
      (await db.k.selectFrom('scans').select(['digest', 'db_version']).orderBy('id').execute()).map(
        (s) => `${s.digest.slice(7, 8)}@${s.db_version}`,
      );
    assert.equal((await scans()).length, 6);

    assert.deepEqual(await collectGarbage(db, 0, 60_000), { scans: 0, sets: 1 }, '0: every scan kept');
    const out = await collectGarbage(db, 2, 60_000);
    assert.deepEqual(out, { scans: 2, sets: 0 });
    assert.deepEqual(await scans(), ['1@v2', '1@v3', '2@v2', '2@v3'], 'the newest two of each image');
    const hashes = (await db.k.selectFrom('finding_sets').select('hash').execute()).map((r) => r.hash);
    assert.ok(!hashes.includes(orphan.hash), 'an old set nothing names is collected');
    assert.ok(hashes.includes(young.hash), 'a young one is kept (a pass may be about to name it)');
    // Each image's latest result is never collected, even with a retention of one.
    await collectGarbage(db, 1, 60_000);
    assert.deepEqual(await scans(), ['1@v3', '2@v3']);
    const latest = await db.k.selectFrom('images').select(['digest', 'latest_scan_id']).execute();
    const ids = new Set((await db.k.selectFrom('scans').select('id').execute()).map((s) => Number(s.id)));
    for (const i of latest)
      assert.ok(ids.has(Number(i.latest_scan_id)), `${i.digest}'s latest result is kept`);
  });
});
