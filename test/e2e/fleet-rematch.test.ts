import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Package } from '../../src/catalog/model.js';
import type { Finding } from '../../src/model/scan.js';
import { scanInventory } from '../../src/scan/scan.js';
import { rematchFleet } from '../../src/monitor/rematch.js';
import { contextOf } from '../../src/jobs/scan-job.js';
import { openDb, type Db } from '../../src/store/db.js';
import { recordDeployment } from '../../src/store/deployments.js';
import { findScan, loadInventory, recordImage, saveInventory, saveScan } from '../../src/store/images.js';
import { allInventoryDigests, digestsFor, findingChanges } from '../../src/store/monitoring.js';
import { packSet, readResult } from '../../src/store/results.js';
import { collectGarbage } from '../../src/store/retention.js';
import { changedKeys } from '../../src/vulndb/delta.js';
import { alpineOs, alpinePackageLists, syntheticImage } from '../helpers/alpine.js';
import { shared } from '../helpers/paths.js';
import { describeStores, freshStore, type TestStore } from '../helpers/stores.js';
import { customs } from '../helpers/run.js';

// A database update re-matches the fleet by patching: only the packages the change touched are
// matched again. The proof is equivalence: after each update, every image's stored result (a
// patch over its base, or the old result marked as still holding) equals a full match of its
// inventory against the new database, and so do its counts, grade, finding index and events.

let tmp: string;
const dbs: Record<string, string> = {};
const pypi = () => join(tmp, 'pypi');

function osv(id: string, pkg: string, fixed: string, severity = 'CRITICAL') {
  mkdirSync(pypi(), { recursive: true });
  writeFileSync(
    join(pypi(), `${id}.json`),
    JSON.stringify({
      schema_version: '1.6.0',
      id,
      modified: '2026-11-01T00:00:00Z',
      published: '2026-11-01T00:00:00Z',
      aliases: [],
      summary: `${pkg} flaw`,
      database_specific: { severity },
      affected: [
        {
          package: { ecosystem: 'PyPI', name: pkg },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }],
        },
      ],
    }),
  );
}

/** Build the publisher's database from the advisories as they stand, and keep a copy of it. */
function build(name: string, folders: string[]): string {
  const pub = join(tmp, 'publisher.db');
  const r = customs(['db', 'build', ...folders, '--output', join(tmp, `${name}.tar.zst`)], {
    env: { CUSTOMS_DB: pub },
  });
  assert.equal(r.status, 0, r.stderr);
  dbs[name] = join(tmp, `${name}.db`);
  copyFileSync(pub, dbs[name]);
  return dbs[name];
}

/** Move the fixed version of some Alpine advisories on, as upstream corrections do. */
function bumpAlpine(packages: string[]) {
  const d = new Database(join(tmp, 'publisher.db'));
  const bump = d.prepare(
    `UPDATE affected SET ranges = replace(ranges, '"fixed":"', '"fixed":"99.') WHERE package = ? AND eco_base = 'Alpine'`,
  );
  for (const p of packages) assert.ok(bump.run(p).changes > 0, p);
  d.close();
}

// Four releases' real package lists.
const alpines = alpinePackageLists(/3\.(7|10|14|18)\./);

function inventory(i: number, python: Array<[string, string]>) {
  // 3 and 4 are Python-only images (no OS): the Alpine changes do not touch them.
  const base = [3, 4].includes(i) ? { version: '', packages: [] } : alpines[i % alpines.length];
  return {
    image: syntheticImage(i),
    os: base.version ? alpineOs(base.version) : undefined,
    packages: [
      ...base.packages,
      ...python.map(
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

// Production runs 0 and 6 (3 runs in staging): 0 and 6 get new critical findings from v2. v2 touches
// 3 without changing its findings, and does not touch 4.
const FLEET: Array<Array<[string, string]>> = [
  [['requests', '2.31.0']],
  [
    ['requests', '2.31.0'],
    ['flask', '0.12'],
  ],
  [['django', '3.2.0']],
  [['requests', '2.33.0']],
  [['flask', '2.3.0']],
  [
    ['django', '4.2.0'],
    ['requests', '2.19.0'],
  ],
  [['django', '4.2.0']],
  [['requests', '2.19.0']],
];

const key = (f: Finding) =>
  [
    f.id,
    f.package.type,
    f.package.name,
    f.package.version,
    f.severity.level,
    f.risk.score,
    f.status,
    f.fixedVersion ?? '',
    !!f.kev,
  ].join('|');

describeStores('fleet re-match by patching', { timeout: 300_000 }, (engine) => {
  let db: Db;
  let st: TestStore;
  const digests: string[] = [];

  before(async function () {
    tmp = mkdtempSync(join(tmpdir(), 'customs-fleet-'));
    osv('PYSEC-2026-1', 'requests', '2.20.0');
    osv('PYSEC-2026-2', 'flask', '1.0', 'HIGH');
    osv('PYSEC-2026-3', 'django', '3.2.5', 'MEDIUM');
    build('v1', [shared('advisories/alpine-secdb'), pypi()]);
    // v2: a new advisory (django 4.2.0 is below its fix), a fix that moved on (requests 2.31.0 is
    // now below it), and Alpine fixes that moved on (every release's openssl/busybox affected).
    osv('PYSEC-2026-4', 'django', '4.2.1');
    osv('PYSEC-2026-1', 'requests', '2.32.0');
    bumpAlpine(['busybox', 'openssl']);
    await new Promise((r) => setTimeout(r, 1100)); // a new build time: a new version
    build('v2', [pypi()]);
    // v3: the patch over a patch: flask's fix moves on, and one of v2's changes is undone.
    osv('PYSEC-2026-2', 'flask', '2.4.0', 'HIGH');
    osv('PYSEC-2026-1', 'requests', '2.20.0');
    await new Promise((r) => setTimeout(r, 1100));
    build('v3', [pypi()]);

    st = await freshStore(engine, join(tmp, 'data'), 'fleet');
    db = await openDb(st.where);
    await db.k
      .insertInto('channels')
      .values({
        type: 'webhook',
        target: 'http://127.0.0.1:9/',
        secret: null,
        environments: null,
        created_at: 'x',
      })
      .execute();
    for (let i = 0; i < FLEET.length; i++) {
      const digest = `sha256:${String(i + 1).padStart(64, '0')}`;
      digests.push(digest);
      const inv = inventory(i, FLEET[i]);
      await saveInventory(db, digest, inv);
      await recordImage(db, { registry: 'registry.local', repository: `team/app${i}`, digest });
      if (i % 3 === 0)
        await recordDeployment(db, {
          environment: i === 3 ? 'staging' : 'production',
          registry: 'registry.local',
          repository: `team/app${i}`,
          digest,
          source: 'test',
        });
      // The first result, as a scan job leaves it (the last image's is made with another
      // version: it cannot be patched and goes to the queue).
      if (i === FLEET.length - 1) continue;
      const result = scanInventory(inv.image, inv, { dbPath: dbs.v1, ...(await contextOf(db, digest)) });
      await saveScan(db, { digest, dbVersion: version('v1'), source: 'scan', result, durationMs: 1 });
    }
  });
  after(async () => {
    await db?.close();
    await st?.drop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const version = (name: string) => {
    const d = new Database(dbs[name], { readonly: true });
    const v = (d.prepare("SELECT value FROM meta WHERE key = 'built_at'").get() as { value: string }).value;
    d.close();
    return v;
  };

  async function update(from: string, to: string) {
    const keys = changedKeys(dbs[from], dbs[to]);
    return rematchFleet({
      db,
      oldPath: dbs[from],
      newPath: dbs[to],
      oldVersion: version(from),
      newVersion: version(to),
      keys,
      digests: await digestsFor(db, keys),
      all: await allInventoryDigests(db),
    });
  }

  /** Every image's stored result equals a full match of its inventory against `name`. */
  async function assertEquivalent(name: string, skip: string[] = []) {
    for (const digest of digests) {
      if (skip.includes(digest)) continue;
      const inv = (await loadInventory(db, digest))!;
      const want = scanInventory(inv.image, inv, { dbPath: dbs[name], ...(await contextOf(db, digest)) });
      const id = (await findScan(db, digest, version(name)))!;
      assert.ok(id, `${digest} holds for ${name}`);
      const got = (await readResult(db, id))!;
      assert.deepEqual(got.findings.map(key).sort(), want.findings.map(key).sort(), digest);
      assert.deepEqual(got.summary, want.summary, digest);
      const row = await db.k.selectFrom('scans').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      assert.deepEqual(
        [
          row.grade,
          row.critical,
          row.high,
          row.medium,
          row.low,
          row.unknown,
          row.kev,
          row.fixable,
          row.total,
        ],
        [
          want.summary.grade,
          want.summary.bySeverity.CRITICAL,
          want.summary.bySeverity.HIGH,
          want.summary.bySeverity.MEDIUM,
          want.summary.bySeverity.LOW,
          want.summary.bySeverity.UNKNOWN,
          want.summary.kev,
          want.summary.fixable,
          want.summary.total,
        ],
      );
      const risk = want.findings.reduce((a, f) => a + f.risk.score, 0);
      assert.ok(Math.abs(Number(row.risk) - risk) < 0.2, `${digest} risk ${row.risk} vs ${risk}`);
      // The search index holds the newest result's findings, by id and alias.
      const index = await db.k
        .selectFrom('finding_index')
        .select(['vulnerability', 'package', 'version', 'severity'])
        .where('digest', '=', digest)
        .execute();
      const wantIndex = want.findings.flatMap((f) =>
        [...new Set([f.id, ...f.aliases])].map((v) =>
          [v, f.package.name, f.package.version, f.severity.level].join('|'),
        ),
      );
      assert.deepEqual(
        index.map((r) => [r.vulnerability, r.package, r.version, r.severity].join('|')).sort(),
        [...new Set(wantIndex)].sort(),
        `${digest} finding index`,
      );
      const latest = await db.k
        .selectFrom('images')
        .select('latest_scan_id')
        .where('digest', '=', digest)
        .executeTakeFirstOrThrow();
      assert.equal(Number(latest.latest_scan_id), Number((await findScan(db, digest, version(name)))!));
    }
  }

  it('patches the images a change alters, marks the rest, and leaves what it cannot do to the queue', async () => {
    await assertEquivalent('v1', [digests[7]]);
    const before = new Map<string, Finding[]>();
    for (const d of digests.slice(0, 7))
      before.set(d, (await readResult(db, (await findScan(db, d, version('v1')))!))!.findings);
    const out = await update('v1', 'v2');
    assert.deepEqual(out.fallback, [digests[7]], 'the image without a result at v1');
    assert.ok(out.patched >= 5, JSON.stringify(out));
    assert.ok(out.unchanged >= 1, JSON.stringify(out));
    assert.equal(
      out.patched + out.unchanged + out.fallback.length,
      (await digestsFor(db, changedKeys(dbs.v1, dbs.v2))).length,
    );
    await assertEquivalent('v2', [digests[7]]);
    // Events: what a full re-match would record, per image.
    for (const d of digests.slice(0, 7)) {
      const inv = (await loadInventory(db, d))!;
      const want = findingChanges(
        { findings: before.get(d)! },
        scanInventory(inv.image, inv, { dbPath: dbs.v2, ...(await contextOf(db, d)) }),
      );
      const events = await db.k.selectFrom('finding_events').selectAll().where('digest', '=', d).execute();
      assert.deepEqual(
        events.map((e) => `${e.kind} ${e.vulnerability} ${e.package}`).sort(),
        [
          ...want.introduced.map((f) => `new ${f.id} ${f.package.name}@${f.package.version}`),
          ...want.fixed.map((f) => `fixed ${f.id} ${f.package.name}@${f.package.version}`),
          ...want.changed.map((f) => `changed ${f.id} ${f.package.name}@${f.package.version}`),
        ].sort(),
        d,
      );
    }
    // A full re-match asked for is still done: a result that only holds is no result made with v2.
    const held = await db.k
      .selectFrom('scans')
      .select('digest')
      .where('checked_version', '=', version('v2'))
      .execute();
    assert.equal(held.length, out.marked);
    assert.ok(out.marked >= 1, JSON.stringify(out));
    for (const h of held) assert.equal(await findScan(db, h.digest, version('v2'), true), undefined);
    // Alerts: the images running in production with new critical findings, and only those.
    const alerts = await db.k.selectFrom('alerts').select(['image', 'environment', 'findings']).execute();
    assert.ok(alerts.length > 0);
    for (const a of alerts) {
      assert.equal(a.environment, 'production');
      assert.ok(
        [0, 6].some((i) => a.image.endsWith(digests[i])),
        a.image,
      );
    }
    assert.ok(alerts.some((a) => a.image.endsWith(digests[0]) && a.findings.includes('PYSEC-2026-1')));
    assert.ok(alerts.some((a) => a.image.endsWith(digests[6]) && a.findings.includes('PYSEC-2026-4')));
  });

  it('a second update patches over the first patch, still equal to a full match', async () => {
    const out = await update('v2', 'v3');
    assert.deepEqual(out.fallback, [digests[7]]);
    assert.ok(out.patched >= 3, JSON.stringify(out));
    await assertEquivalent('v3', [digests[7]]);
    // Patches stay one level deep: each is over a whole result.
    const patches = await db.k
      .selectFrom('scans')
      .select('base_id')
      .where('base_id', 'is not', null)
      .execute();
    for (const p of patches) {
      const base = await db.k
        .selectFrom('scans')
        .select('base_id')
        .where('id', '=', Number(p.base_id))
        .executeTakeFirstOrThrow();
      assert.equal(base.base_id, null);
    }
  });

  it('collects old scans past the retention and finding sets nothing names, keeping every result whole', async () => {
    // A set no patch names (left by an interrupted pass), old enough to go, and a young one to keep.
    const orphan = packSet({ findings: [], suppressed: [] }, '{"orphan":1}');
    const young = packSet({ findings: [], suppressed: [] }, '{"young":1}');
    await db.k
      .insertInto('finding_sets')
      .values([
        { ...orphan, created_at: '2000-01-01T00:00:00.000Z' },
        { ...young, created_at: new Date().toISOString() },
      ])
      .execute();
    const count = async (table: 'scans' | 'finding_sets') =>
      Number(
        (
          await db.k
            .selectFrom(table)
            .select((e) => e.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const scansBefore = await count('scans');
    const setsBefore = await count('finding_sets');
    const out = await collectGarbage(db, 1, 60_000);
    assert.ok(out.sets >= 1, JSON.stringify(out));
    assert.equal(await count('finding_sets'), setsBefore - out.sets);
    const hashes = (await db.k.selectFrom('finding_sets').select('hash').execute()).map((r) => r.hash);
    assert.ok(!hashes.includes(orphan.hash) && hashes.includes(young.hash));
    assert.equal(await count('scans'), scansBefore - out.scans);
    assert.ok(out.scans > 0, 'v1 results no patch builds on are gone');
    // Every image's newest result still reads whole and equals a full match.
    await assertEquivalent('v3', [digests[7]]);
    // A second pass finds nothing more to do.
    assert.deepEqual(await collectGarbage(db, 1, 60_000), { scans: 0, sets: 0 });
  });
});
