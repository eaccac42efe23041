import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Package } from '../../../src/catalog/model.js';
import { runJob } from '../../../src/jobs/scan-job.js';
import { matchUnscanned } from '../../../src/monitor/first-match.js';
import { openDb, type Db } from '../../../src/store/db.js';
import { recordDeployment, recordDeployments } from '../../../src/store/deployments.js';
import {
  recordImage,
  recordNewImages,
  saveInventory,
  saveNewInventories,
} from '../../../src/store/images.js';
import { readResult } from '../../../src/store/results.js';
import { SecretBox } from '../../../src/store/secret-box.js';
import { alpineOs, alpinePackageLists, syntheticImage } from '../../helpers/alpine.js';
import { shared } from '../../helpers/paths.js';
import { customs } from '../../helpers/run.js';

// The bench's bulk seeding (multi-row inserts) and first match (a chunk a transaction) must leave a
// store as one inventory saved and one `match` job run per image would: the same results, finding
// index, finding events and package index.

const alpines = alpinePackageLists(/3\.(14|18)\./);
const py: Array<[string, string]> = [
  ['requests', '2.19.0'],
  ['django', '3.2.0'],
  ['flask', '0.12'],
  ['jinja2', '2.10'],
];

function inventory(i: number) {
  const base = alpines[i % alpines.length];
  return {
    image: syntheticImage(i),
    os: alpineOs(base.version),
    packages: [
      ...base.packages,
      ...py.slice(0, i % 5).map(
        ([name, version]) =>
          ({
            name,
            version,
            type: 'pypi',
            purl: `pkg:pypi/${name}@${version}`,
            locations: [],
          }) as unknown as Package,
      ),
    ],
    warnings: [],
  } as unknown as Parameters<typeof saveInventory>[2];
}

describe('first match in bulk', { timeout: 300_000 }, () => {
  let tmp: string;
  let vulndb: string;
  let one: Db;
  let bulk: Db;
  const N = 8;
  const digest = (i: number) => `sha256:${String(i + 1).padStart(64, '0')}`;
  const deployed = (i: number) => i % 3 === 0;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-first-match-'));
    vulndb = join(tmp, 'vuln.db');
    const r = customs([
      'db',
      'import',
      shared('advisories/alpine-secdb'),
      shared('advisories/pypi-osv'),
      '--db',
      vulndb,
      '-q',
    ]);
    assert.equal(r.status, 0, r.stderr);
    one = await openDb({ data: join(tmp, 'one') });
    bulk = await openDb({ data: join(tmp, 'bulk') });
    const box = SecretBox.fromEnvOrFile(join(tmp, 'secret.key'));
    for (let i = 0; i < N; i++) {
      const ref = { registry: 'registry.local', repository: `team/app${i}`, digest: digest(i) };
      await saveInventory(one, digest(i), inventory(i));
      await recordImage(one, ref);
      if (deployed(i)) await recordDeployment(one, { environment: 'production', ...ref, source: 'test' });
      await runJob({ kind: 'match', digest: digest(i), source: 'test' }, { db: one, box, dbPath: vulndb });
    }
    const all = Array.from({ length: N }, (_, i) => i);
    await saveNewInventories(
      bulk,
      all.map((i) => ({ digest: digest(i), inventory: inventory(i) })),
    );
    await recordNewImages(
      bulk,
      all.map((i) => ({ registry: 'registry.local', repository: `team/app${i}`, digest: digest(i) })),
    );
    await recordDeployments(
      bulk,
      all.filter(deployed).map((i) => ({
        environment: 'production',
        registry: 'registry.local',
        repository: `team/app${i}`,
        digest: digest(i),
        source: 'test',
      })),
    );
    const r2 = await matchUnscanned({
      db: bulk,
      dbPath: vulndb,
      digests: all.map(digest),
      source: 'test',
    });
    assert.deepEqual([r2.matched, r2.skipped], [N, []]);
  });
  after(async () => {
    await one?.close();
    await bulk?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const rows = async (db: Db, table: 'finding_index' | 'package_index' | 'package_versions') =>
    (await db.k.selectFrom(table).selectAll().execute())
      .map((r) => JSON.stringify(Object.entries(r).sort()))
      .sort();

  it('stores the results one match job per image stores', async () => {
    const columns = [
      'digest',
      'db_version',
      'grade',
      'risk',
      'critical',
      'high',
      'medium',
      'low',
      'unknown',
      'kev',
      'fixable',
      'total',
      'tally',
      'provenance_kind',
    ] as const;
    const scans = async (db: Db) =>
      db.k
        .selectFrom('scans')
        .select(['id', ...columns])
        .orderBy('digest')
        .execute();
    const a = await scans(one);
    const b = await scans(bulk);
    assert.equal(a.length, N);
    assert.deepEqual(
      b.map(({ id: _, ...r }) => r),
      a.map(({ id: _, ...r }) => r),
    );
    let findings = 0;
    for (let i = 0; i < N; i++) {
      const ra = (await readResult(one, a[i].id))!;
      const rb = (await readResult(bulk, b[i].id))!;
      assert.deepEqual(rb.findings, ra.findings);
      assert.deepEqual(rb.summary, ra.summary);
      assert.deepEqual(rb.coverage, ra.coverage);
      findings += ra.findings.length;
    }
    assert.ok(findings > 0, 'the fleet has findings');
    // Every image record points at its scan.
    const latest = async (db: Db) =>
      (await db.k.selectFrom('images').select(['digest', 'latest_scan_id']).execute()).every(
        (r) => r.latest_scan_id !== null,
      );
    assert.ok(await latest(one));
    assert.ok(await latest(bulk));
  });

  it('indexes packages and findings as the jobs do, finding events too', async () => {
    for (const t of ['finding_index', 'package_index', 'package_versions'] as const)
      assert.deepEqual(await rows(bulk, t), await rows(one, t), t);
    const events = async (db: Db) =>
      (
        await db.k
          .selectFrom('finding_events')
          .select(['digest', 'db_version', 'kind', 'vulnerability', 'package', 'severity', 'kev'])
          .execute()
      )
        .map((r) => JSON.stringify(r))
        .sort();
    // (A first result records none: there is nothing it changed from.)
    assert.deepEqual(await events(bulk), await events(one));
  });
});
