import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { openImage } from '../../src/image/open.js';
import { catalogImage, wantedBy } from '../../src/catalog/index.js';
import type { ScanResult } from '../../src/model/scan.js';
import { scanImage, scanInventory } from '../../src/scan/scan.js';
import { runScan } from '../../src/scan/session.js';
import { dockerArchive } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { customs } from '../helpers/run.js';

// The scan session against the real Alpine secdb and an Alpine 3.7 image (CVE-2019-14697 in musl
// and musl-utils, severity UNKNOWN without NVD): what every command that scans now goes through.
let tmp: string;
let dbPath: string;
let image: string;
const base = () => ({ dbPath, scanners: new Set(['vuln'] as const) });
/** Two results of the same scan, apart from when each was made. */
const same = (a: ScanResult, b: ScanResult) =>
  assert.deepEqual({ ...a, createdAt: '' }, { ...b, createdAt: '' });

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-session-'));
  dbPath = join(tmp, 'customs.db');
  const r = customs(['db', 'import', shared('advisories/alpine-secdb'), shared('kev'), '-q'], {
    env: { CUSTOMS_DB: dbPath },
  });
  assert.equal(r.status, 0, r.stderr);
  image = join(tmp, 'alpine-3.7.3.tar');
  writeFileSync(
    image,
    await dockerArchive({
      layers: [gunzipSync(readFileSync(shared('images/alpine/alpine-minirootfs-3.7.3-x86_64.tar.gz')))],
      tag: 'alpine:3.7.3',
    }),
  );
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('runScan: ScanRequest → ScanOutcome', { timeout: 300_000 }, () => {
  it('without statements or filters, the outcome is what scanImage gives (the server scan job)', async () => {
    const o = await runScan({ ...base(), source: { image } });
    same(o.result, await scanImage(image, base()));
    assert.equal(o.scanned, o.result);
    assert.ok(o.result.findings.length >= 2);
    assert.equal(o.result.summary.total, o.result.findings.length);
    assert.deepEqual(o.coverage, o.result.coverage);
    assert.equal(o.verdict.passed, false);
    assert.equal(o.exitStatus, 0, 'no --exit-code: findings alone do not fail the run');
  });

  it('an inventory already read (the match job) gives what scanInventory gives', async () => {
    const opened = await openImage(image, { wants: wantedBy() });
    const inventory = await catalogImage(opened);
    const o = await runScan({ ...base(), source: { metadata: opened.metadata, inventory } });
    same(o.result, scanInventory(opened.metadata, inventory, base()));
  });

  it('the show filters: the summary describes what is shown; the upload copy keeps everything', async () => {
    const all = (await runScan({ ...base(), source: { image } })).result;
    const o = await runScan({
      ...base(),
      source: { image },
      show: { severity: ['CRITICAL'], ignoreUnfixed: true },
    });
    assert.ok(all.findings.length > 0);
    assert.equal(o.result.findings.length, 0);
    assert.equal(o.result.summary.total, 0);
    const fixed = await runScan({ ...base(), source: { image }, show: { ignoreUnfixed: true } });
    assert.ok(fixed.result.findings.every((f) => f.status === 'fixed'));
    assert.equal(fixed.result.summary.total, fixed.result.findings.length);
    assert.equal(o.scanned.findings.length, all.findings.length);
  });

  it('the gate: --fail-on and --exit-code give the verdict and the exit status', async () => {
    const o = await runScan({ ...base(), source: { image }, gate: { failOn: 'UNKNOWN', exitCode: 3 } });
    assert.ok(o.result.findings.length > 0);
    assert.equal(o.verdict.failing, o.result.findings.length);
    assert.equal(o.exitStatus, 3);
    const none = await runScan({ ...base(), source: { image }, gate: { failOn: 'HIGH', exitCode: 3 } });
    assert.equal(none.verdict.failing, 0);
    assert.equal(none.verdict.passed, true);
    assert.equal(none.exitStatus, 0);
  });

  it('a stale database fails the gate only with failOnStaleDb (exit 1 without --exit-code)', async () => {
    const stale = { ...base(), source: { image }, dbMaxAgeDays: 0 };
    const quiet = await runScan(stale);
    assert.equal(quiet.result.database.stale, true);
    assert.equal(quiet.verdict.staleDatabase, undefined);
    const o = await runScan({ ...stale, show: { severity: ['NONE'] }, gate: { failOnStaleDb: true } });
    assert.ok(o.verdict.staleDatabase);
    assert.equal(o.verdict.passed, false);
    assert.equal(o.exitStatus, 1);
  });

  it("the user's statements suppress in the shown result, never in the upload copy", async () => {
    const all = (await runScan({ ...base(), source: { image } })).result;
    const [first, second] = all.findings;
    const ignorefile = join(tmp, 'ignore.yaml');
    writeFileSync(
      ignorefile,
      `ignores:\n  - id: ${first.id}\n    package: ${first.package.name}\n    reason: test\n`,
    );
    const vex = join(tmp, 'vex.json');
    writeFileSync(
      vex,
      JSON.stringify({
        '@context': 'https://openvex.dev/ns/v0.2.0',
        statements: [{ vulnerability: { name: second.id }, status: 'not_affected', justification: 'x' }],
      }),
    );
    const o = await runScan({ ...base(), source: { image }, suppress: { ignorefile, vex: [vex] } });
    const by = new Map(o.result.suppressed.map((s) => [`${s.id} ${s.package.name}`, s.suppression.by]));
    assert.equal(by.get(`${first.id} ${first.package.name}`), 'ignore-file');
    assert.equal(o.result.suppressed[0].suppression.by, 'ignore-file', 'the ignore file before VEX');
    assert.ok([...by.values()].includes('vex'));
    assert.equal(o.result.summary.total, o.result.findings.length);
    assert.equal(o.result.findings.length + o.result.suppressed.length, all.findings.length);
    assert.equal(o.scanned.suppressed.length, 0);
    assert.equal(o.scanned.findings.length, all.findings.length);
  });

  it('an SBOM file as the source; a missing one is a user error', async () => {
    const sbom = join(tmp, 'sbom.json');
    const r = customs(['sbom', image, '-f', 'cyclonedx', '-o', sbom, '-q']);
    assert.equal(r.status, 0, r.stderr);
    const o = await runScan({ ...base(), source: { sbom } });
    assert.deepEqual(
      o.result.findings.map((f) => f.id),
      (await runScan({ ...base(), source: { image } })).result.findings.map((f) => f.id),
    );
    await assert.rejects(runScan({ ...base(), source: { sbom: join(tmp, 'none.json') } }), /no such file/);
  });
});
