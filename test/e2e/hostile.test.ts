import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parseHeader } from '../../src/catalog/rpm/header.js';
import { parseRpmdb } from '../../src/catalog/rpm/index.js';
import { ndbBlobs } from '../../src/catalog/rpm/ndb.js';
import { ProbeSet, type ProbeFactory } from '../../src/image/probe.js';
import { summarize } from '../../src/rank/risk.js';
import type { Finding } from '../../src/model/scan.js';
import { buildBdb, buildHeader, buildNdb } from '../fuzz/rpm-structures.js';
import { dockerArchive, makeTar, sha256 } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { customs } from '../helpers/run.js';

// Crafted inputs from the hostile-input review (issue 12), each made here and small on disk: every
// one must end at once with exit 0 or 1 and a clear message, never a hang, a crash or exit 2.
let tmp: string;
let env: Record<string, string>;

/** One raw ustar header block (for what tar libraries refuse to write). */
function rawHeader(name: string, size: string, typeflag: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(typeflag, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

function paxBlock(records: string): Buffer {
  const body = Buffer.alloc(512);
  body.write(records);
  return Buffer.concat([rawHeader('PaxHeaders/x', Buffer.byteLength(records).toString(8), 'x'), body]);
}

describe('hostile input: clear errors, no hangs', { timeout: 120_000 }, () => {
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-hostile-'));
    env = { CUSTOMS_DB: join(tmp, 'db.sqlite') };
    assert.equal(customs(['db', 'import', shared('advisories/alpine-secdb'), '-q'], { env }).status, 0);
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('a pax header with a negative size (plain and gzipped archive)', () => {
    const rec = '14 size=-1536\n';
    const tar = Buffer.concat([paxBlock(rec), rawHeader('manifest.json', '0', '0'), Buffer.alloc(1024)]);
    const file = join(tmp, 'negative-pax.tar');
    writeFileSync(file, tar);
    writeFileSync(`${file}.gz`, gzipSync(tar));
    for (const f of [file, `${file}.gz`]) {
      const t0 = Date.now();
      const r = customs(['sbom', f], { env });
      assert.equal(r.status, 1, r.stderr);
      assert.ok(Date.now() - t0 < 10_000);
      assert.match(r.stderr, /negative-pax\.tar(\.gz)?: /);
      assert.doesNotMatch(r.stderr, /internal error/);
    }
  });

  it('devices, pipes and folders given where a file is expected', () => {
    for (const args of [
      ['sbom', '/dev/zero'],
      ['image', '/dev/zero'],
      ['sbom-scan', '/dev/zero'],
      ['lint', '/dev/zero'],
      ['image', 'x.tar', '--vex', '/dev/zero'],
    ]) {
      const r = customs(args, { env });
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /not a regular file|no such file/, args.join(' '));
    }
  });

  it('a hard-link loop in a layer', async () => {
    const layer = await makeTar([
      { name: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=3.7.3\n' },
      { name: 'a', type: 'link', linkname: 'b' },
      { name: 'b', type: 'link', linkname: 'a' },
      { name: 'lib/apk/db/installed', type: 'link', linkname: 'lib/apk/db/installed2' },
      { name: 'lib/apk/db/installed2', type: 'link', linkname: 'lib/apk/db/installed' },
    ]);
    const file = join(tmp, 'link-loop.tar');
    writeFileSync(file, await dockerArchive({ layers: [layer] }));
    const r = customs(['sbom', file, '--format', 'json'], { env });
    assert.ok(r.status === 0 || r.status === 1, r.stderr);
    assert.doesNotMatch(r.stderr, /internal error|Maximum call stack/);
  });

  it('--output checked before the scan starts', () => {
    mkdirSync(join(tmp, 'adir'));
    writeFileSync(join(tmp, 'afile'), 'x');
    const img = shared('images/docker-archive/trivy-alpine-310.tar.gz');
    const cases: Array<[string, RegExp]> = [
      [join(tmp, 'missing', 'out.json'), /does not exist/],
      [join(tmp, 'adir'), /is a folder/],
      [join(tmp, 'afile', 'out.json'), /is a file, not a folder/],
    ];
    for (const [out, msg] of cases)
      for (const cmd of [
        ['image', img],
        ['sbom', img],
        ['lint', join(tmp, 'afile')],
      ]) {
        const r = customs([...cmd, '--output', out], { env });
        assert.equal(r.status, 1, `${cmd[0]} → ${out}: ${r.stderr}`);
        assert.match(r.stderr, msg);
        assert.doesNotMatch(r.stderr, /internal error/);
      }
  });

  it('a folder with nothing in it that a scanner knows', () => {
    const src = join(tmp, 'src');
    mkdirSync(join(src, 'lib'), { recursive: true });
    writeFileSync(join(src, 'lib', 'main.ts'), 'export {}\n');
    const r = customs(['image', src], { env });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /nothing recognised.*customs fs/);
    // As a source tree it is scanned, and nothing found is not graded A.
    const fs = customs(['fs', src, '--format', 'json'], { env });
    assert.equal(fs.status, 0, fs.stderr);
    const out = JSON.parse(fs.stdout) as {
      summary: { grade: string; gradeReason: string };
      warnings: string[];
    };
    assert.notEqual(out.summary.grade, 'A');
    assert.match(out.summary.gradeReason, /nothing recognised/);
  });

  it('messages name the right flag, the right document and the input', async () => {
    const img = shared('images/docker-archive/trivy-alpine-310.tar.gz');
    const r = customs(['image', img, '--fail-on', 'SEVERE'], { env });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--fail-on: unknown level\(s\) SEVERE/);

    // Layers: [null] in manifest.json.
    const cfg = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    );
    const nullLayers = await makeTar([
      { name: `${sha256(cfg).slice(7)}.json`, content: cfg },
      {
        name: 'manifest.json',
        content: JSON.stringify([{ Config: `${sha256(cfg).slice(7)}.json`, Layers: [null] }]),
      },
    ]);
    writeFileSync(join(tmp, 'null-layers.tar'), nullLayers);
    const n = customs(['sbom', join(tmp, 'null-layers.tar')], { env });
    assert.equal(n.status, 1);
    assert.match(n.stderr, /null-layers\.tar: manifest\.json lists a layer that is not a path/);

    // A manifest.json over the document limit inside a .tar.gz.
    const big = await makeTar([{ name: 'manifest.json', content: Buffer.alloc(5 * 1024 * 1024, 0x20) }]);
    writeFileSync(join(tmp, 'big-manifest.tar.gz'), gzipSync(big));
    const b = customs(['sbom', join(tmp, 'big-manifest.tar.gz')], { env });
    assert.equal(b.status, 1);
    assert.match(b.stderr, /manifest\.json is too large/);
  });

  it('a bad --platform is a usage error for every command that scans', () => {
    const img = shared('images/docker-archive/trivy-alpine-310.tar.gz');
    for (const args of [
      ['policy', 'check', img],
      ['compare', img, img],
      ['advise', img],
      ['image', img],
      ['sbom', img],
    ]) {
      const r = customs([...args, '--platform', 'bad'], { env });
      assert.equal(r.status, 1, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /--platform/);
      assert.doesNotMatch(r.stderr, /internal error/);
    }
  });

  it('unknown severity is not graded as "nothing worse than medium"', () => {
    const f = (i: number): Finding => ({
      id: `CVE-2099-${i}`,
      aliases: [],
      package: { name: 'stdlib', version: '1.19', type: 'golang', purl: 'pkg:golang/stdlib@1.19' },
      status: 'fixed',
      fixedVersion: '1.20',
      severity: { level: 'UNKNOWN', source: 'none' } as Finding['severity'],
      cvss: [],
      references: [],
      dataSources: [],
      risk: { score: 10, factors: [] },
    });
    const many = summarize(
      Array.from({ length: 80 }, (_, i) => f(i)),
      { osEndOfLife: false },
    );
    assert.equal(many.grade, 'C');
    assert.match(many.gradeReason, /80 of unknown severity \(80 fixable\)/);
    assert.equal(summarize([f(1)], { osEndOfLife: false }).grade, 'B');
    assert.equal(summarize([], { osEndOfLife: false }).grade, 'A');
  });
});

describe('secret rules on adversarial text end in linear time', () => {
  it('PEM BEGIN without END, AKIA lines by the hundred thousand, password followed by a long run', async () => {
    const { findSecrets } = await import('../../src/secrets/rules.js');
    const key = '-----BEGIN RSA PRIVATE KEY-----\n';
    const cases: Array<[string, string, number]> = [
      ['BEGIN without END', key.repeat(Math.ceil((5 * 1024 * 1024) / key.length)), 0],
      ['AKIA lines', 'AKIAIOSFODNN7EXAMPLQ\n'.repeat(230_000), 100],
      ['password then a-a-a', `password\n${'a-'.repeat(100_000)}`, 0],
      ['generic with many keywords', `${'secret= '.repeat(100_000)}`, 0],
      ['xox runs (one line: one finding)', `${'xoxb-1234567890-'.repeat(50_000)}`, 1],
    ];
    for (const [what, text, expected] of cases) {
      const t0 = performance.now();
      const found = findSecrets(text);
      const ms = performance.now() - t0;
      assert.ok(ms < 5000, `${what}: ${Math.round(ms)} ms`);
      assert.equal(found.length, expected, what);
    }
    // Real keys are still found, with their line, and a BEGIN without END before one does not hide it.
    const real = `x\n${key}MIIEowIBAAKCAQEAx3sPXwFd5kHhlV8Uk2e\nabcdefghijklmnopqrstuvwxyz\n-----END RSA PRIVATE KEY-----\n`;
    const hits = findSecrets(`${key}junk\n${real}`);
    assert.equal(hits.length, 1);
    assert.equal(hits[0].rule, 'private-key');
    assert.equal(hits[0].line, 4);
  });
});

describe('no output format prints a secret the image metadata carries', { timeout: 120_000 }, () => {
  it('config Env, labels, history and layer steps are masked in every format', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'customs-mask-'));
    try {
      const secrets = {
        aws: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY',
        akid: 'AKIAQWERTYUIOPASDFGH',
        db: 'hunter2-correct-horse',
        gh: `ghp_${'aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5'}`,
        label: 'tok-9f8e7d6c5b4a3210',
      };
      const layer = await makeTar([{ name: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=3.7.3\n' }]);
      const file = join(dir, 'leaky.tar');
      writeFileSync(
        file,
        await dockerArchive({
          layers: [layer],
          env: [
            'PATH=/bin',
            `AWS_SECRET_ACCESS_KEY=${secrets.aws}`,
            `AWS_ACCESS_KEY_ID=${secrets.akid}`,
            `DB_PASSWORD=${secrets.db}`,
          ],
          labels: { 'org.example.api_token': secrets.label, maintainer: 'ops' },
          createdBy: [`/bin/sh -c #(nop) ENV GITHUB_TOKEN=${secrets.gh} DB_PASSWORD=${secrets.db}`],
        }),
      );
      const envDb = { CUSTOMS_DB: join(dir, 'db.sqlite') };
      assert.equal(
        customs(['db', 'import', shared('advisories/alpine-secdb'), '-q'], { env: envDb }).status,
        0,
      );
      const outputs: string[] = [];
      for (const f of [
        'table',
        'json',
        'sarif',
        'cyclonedx',
        'spdx',
        'markdown',
        'html',
        'junit',
        'gitlab',
      ]) {
        const r = customs(['image', file, '--format', f, '--scanners', 'vuln,secret,config'], { env: envDb });
        assert.ok(r.status === 0, `${f}: ${r.stderr}`);
        outputs.push(r.stdout + r.stderr);
      }
      for (const f of ['table', 'json', 'cyclonedx', 'spdx']) {
        const r = customs(['sbom', file, '--format', f], { env: envDb });
        assert.equal(r.status, 0, r.stderr);
        outputs.push(r.stdout + r.stderr);
      }
      for (const [i, out] of outputs.entries())
        for (const [name, s] of Object.entries(secrets))
          assert.ok(!out.includes(s), `output ${i} prints the ${name} secret`);
      // The secrets are still reported (masked), and harmless values are left alone.
      const json = JSON.parse(outputs[1]) as {
        secrets: unknown[];
        image: { labels: Record<string, string> };
      };
      assert.ok(json.secrets.length >= 3);
      assert.equal(json.image.labels.maintainer, 'ops');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a Spring Boot jar whose nested jar names no group', () => {
  it('is inventoried with a warning, not an abort', async () => {
    const { zipSync, strToU8 } = await import('fflate');
    const dir = mkdtempSync(join(tmpdir(), 'customs-boot-'));
    try {
      const nested = zipSync({
        'META-INF/MANIFEST.MF': strToU8('Manifest-Version: 1.0\r\n\r\n'),
        'a/B.class': new Uint8Array(8),
      });
      const boot = zipSync(
        {
          'META-INF/MANIFEST.MF': strToU8(
            'Manifest-Version: 1.0\r\nMain-Class: org.springframework.boot.loader.JarLauncher\r\n\r\n',
          ),
          'BOOT-INF/lib/internal-helpers-2.3.1.jar': [nested, { level: 0 }],
        },
        { level: 0 },
      );
      const layer = await makeTar([
        { name: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=3.7.3\n' },
        { name: 'app/app.jar', content: Buffer.from(boot) },
      ]);
      const file = join(dir, 'boot.tar');
      writeFileSync(file, await dockerArchive({ layers: [layer] }));
      const r = customs(['sbom', file, '--format', 'json']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /internal-helpers-2\.3\.1\.jar: no Maven group id/);
      const pkgs = (
        JSON.parse(r.stdout) as { packages: Array<{ name: string; version: string; purl: string }> }
      ).packages;
      const p = pkgs.find((x) => x.name === 'internal-helpers');
      assert.ok(p, JSON.stringify(pkgs.map((x) => x.name)));
      assert.equal(p.purl, 'pkg:maven/internal-helpers@2.3.1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('decompression and memory budgets hold at every level', { timeout: 180_000 }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'customs-bombs-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a zstd layer bomb stops at the guard, not after gigabytes', async () => {
    const { compress } = await import('zstd-napi');
    const { customsPeak } = await import('../helpers/run.js');
    const size = 40 * 64 * 1024 * 1024; // 2.5 GiB of zeros in one file
    const header = rawHeader('zeros', size.toString(8), '0');
    const zeros = compress(Buffer.alloc(64 * 1024 * 1024));
    const blob = Buffer.concat([compress(header), ...Array.from({ length: 40 }, () => zeros)]);
    assert.ok(blob.length < 2 * 1024 * 1024);
    const file = join(dir, 'zstd-bomb.tar');
    writeFileSync(file, await dockerArchive({ layers: [blob] }));
    const r = await customsPeak(['sbom', file]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /decompression bomb/);
    assert.ok(r.peakMiB < 512, `peak RSS ${r.peakMiB} MiB`);
  });

  it('a gzip-compressed outer archive is metered like a layer', async () => {
    const { createGzip } = await import('node:zlib');
    const { pipeline } = await import('node:stream/promises');
    const { Readable } = await import('node:stream');
    const { createWriteStream } = await import('node:fs');
    const file = join(dir, 'outer-bomb.tar.gz');
    const total = 320 * 1024 * 1024;
    async function* tarOfZeros() {
      yield rawHeader('blob', total.toString(8), '0');
      const mb = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < total / mb.length; i++) yield mb;
    }
    await pipeline(Readable.from(tarOfZeros()), createGzip({ level: 1 }), createWriteStream(file));
    const r = customs(['sbom', file, '--max-layer-size', '64M']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /the archive expands past/);
  });

  it('one memory budget across layers for the files analysers keep', async () => {
    const { readLayer } = await import('../../src/image/layer-reader.js');
    const { defaultLimits, MemoryBudget } = await import('../../src/image/limits.js');
    const { Readable } = await import('node:stream');
    const limits = { ...defaultLimits, maxHeldBytes: 1024 * 1024, budget: new MemoryBudget(1024 * 1024) };
    const layer = await makeTar([{ name: 'etc/os-release', content: Buffer.alloc(400 * 1024, 0x41) }]);
    const wants = (p: string) => p === 'etc/os-release';
    await readLayer(Readable.from([layer]), { index: 0 }, wants, limits);
    await readLayer(Readable.from([layer]), { index: 1 }, wants, limits);
    await assert.rejects(
      readLayer(Readable.from([layer]), { index: 2 }, wants, limits),
      /held in memory for this scan/,
    );
  });

  it('a cargo-auditable section of nested braces is parsed once', async () => {
    const { deflateSync } = await import('node:zlib');
    const { cargoAuditableProbe, jsonObjectEnd } = await import('../../src/catalog/rust-binary.js');
    assert.equal(jsonObjectEnd('{"a":"}{","b":[1,{}]} trailing'), 20);
    assert.equal(jsonObjectEnd('{"packages":[0,0'), -1);
    const n = 200_000;
    const section = deflateSync(Buffer.from(`{"packages":[${'0,'.repeat(n)}0${'}'.repeat(n)}`));
    const elf = Buffer.concat([
      Buffer.from([0x7f, 0x45, 0x4c, 0x46]),
      Buffer.alloc(20_000),
      section,
      Buffer.alloc(4096),
    ]);
    const probe = cargoAuditableProbe.create('bin/x');
    const t0 = performance.now();
    for (let i = 0; i < elf.length; i += 65536) probe.push(elf.subarray(i, i + 65536));
    assert.equal(probe.finish(), undefined);
    assert.ok(performance.now() - t0 < 5000);
    // An inflated section past the cap is dropped, not held.
    const bomb = deflateSync(
      Buffer.concat([Buffer.from('{"packages":['), Buffer.alloc(64 * 1024 * 1024, 0x20)]),
    );
    const p2 = cargoAuditableProbe.create('bin/y');
    p2.push(Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(20_000), bomb]));
    assert.equal(p2.finish(), undefined);
  });
});

describe('package databases that fight back', { timeout: 60_000 }, () => {
  it('an rpmdb.sqlite whose Packages is an endless recursive view; a corrupt apk database', async () => {
    const Database = (await import('better-sqlite3')).default;
    const dir = mkdtempSync(join(tmpdir(), 'customs-rpmview-'));
    try {
      const dbFile = join(dir, 'rpmdb.sqlite');
      const db = new Database(dbFile);
      db.exec(
        'CREATE VIEW Packages AS WITH RECURSIVE r(hnum, blob) AS (SELECT 1, randomblob(4096) UNION ALL SELECT hnum + 1, randomblob(4096) FROM r) SELECT hnum, blob FROM r',
      );
      db.close();
      const { readFileSync } = await import('node:fs');
      const layer = await makeTar([
        { name: 'etc/os-release', content: 'ID=almalinux\nVERSION_ID=9.4\n' },
        { name: 'var/lib/rpm/rpmdb.sqlite', content: readFileSync(dbFile) },
      ]);
      const file = join(dir, 'rpm-view.tar');
      writeFileSync(file, await dockerArchive({ layers: [layer] }));
      const t0 = Date.now();
      const r = customs(['sbom', file]);
      assert.equal(r.status, 1, r.stderr);
      assert.ok(Date.now() - t0 < 20_000);
      assert.match(
        r.stderr,
        /\/var\/lib\/rpm\/rpmdb\.sqlite: not an rpm SQLite database: Packages is not a table/,
      );

      const apk = await makeTar([
        { name: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=3.7.3\n' },
        { name: 'lib/apk/db/installed', content: 'garbage without records\n' },
      ]);
      writeFileSync(join(dir, 'apk.tar'), await dockerArchive({ layers: [apk] }));
      const a = customs(['sbom', join(dir, 'apk.tar')]);
      assert.equal(a.status, 1);
      assert.match(a.stderr, /apk\.tar: \/lib\/apk\/db\/installed: corrupt apk database/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('--deadline', () => {
  it('ends a scan that runs too long with the stage it was in', () => {
    const img = shared('images/docker-archive/trivy-alpine-310.tar.gz');
    for (const cmd of ['image', 'sbom']) {
      const r = customs([cmd, img, '--deadline', '0.01'], {
        env: { CUSTOMS_OFFLINE: '1', CUSTOMS_DB: join(tmpdir(), 'no-such-db') },
      });
      assert.equal(r.status, 1, r.stderr);
      assert.match(
        r.stderr,
        /passed its deadline of 0\.01 s while (starting|reading the image|cataloging packages)|no vulnerability database/,
      );
    }
    assert.match(
      customs(['image', img, '--deadline', 'soon']).stderr,
      /--deadline must be a positive number/,
    );
  });

  it('also ends a scan stuck in a synchronous loop (which no timer can interrupt)', () => {
    // The CLI's deadline with a loop standing for a parser that never returns: the watchdog
    // thread stops the loop and the scan ends as any other past its deadline, exit 1.
    const dir = mkdtempSync(join(tmpdir(), 'customs-loop-'));
    try {
      const script = join(dir, 'stuck.mjs');
      writeFileSync(
        script,
        `const { startDeadline } = await import(${JSON.stringify(new URL('../../src/cli/deadline.js', import.meta.url).href)});
const { setStage } = await import(${JSON.stringify(new URL('../../src/stage.js', import.meta.url).href)});
startDeadline('0.5', 'crafted.tar');
await new Promise((r) => setTimeout(r, 20));
setStage('reading the package databases');
for (;;) {}
`,
      );
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 30_000 });
      const ms = performance.now() - t0;
      assert.equal(r.status, 1, `status ${r.status} signal ${r.signal}: ${r.stderr}`);
      assert.equal(
        r.stderr,
        'customs: crafted.tar: the scan passed its deadline of 0.5 s while reading the package databases (raise --deadline)\n',
      );
      assert.ok(ms < 5000, `ended after ${Math.round(ms)} ms`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a jar whose stored entries overlap', () => {
  /** A zip whose central directory lists `count` stored jars, all pointing at one `size`-byte entry declared as 0 bytes. */
  function overlappingZip(count: number, size: number): Buffer {
    const name = Buffer.from('lib/x.jar');
    const data = Buffer.alloc(size, 0x50);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(10, 4);
    local.writeUInt32LE(size, 18); // compressed
    local.writeUInt32LE(0, 22); // declared uncompressed: 0
    local.writeUInt16LE(name.length, 26);
    const head = Buffer.concat([local, name, data]);
    const central: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const n = Buffer.from(`lib/x${i}.jar`);
      const c = Buffer.alloc(46);
      c.writeUInt32LE(0x02014b50, 0);
      c.writeUInt16LE(20, 4);
      c.writeUInt16LE(10, 6);
      c.writeUInt32LE(size, 20);
      c.writeUInt32LE(0, 24);
      c.writeUInt16LE(n.length, 28);
      c.writeUInt32LE(0, 42); // every entry: the same local header
      central.push(c, n);
    }
    const cd = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(count, 8);
    end.writeUInt16LE(count, 10);
    end.writeUInt32LE(cd.length, 12);
    end.writeUInt32LE(head.length, 16);
    return Buffer.concat([head, cd, end]);
  }

  it('draws every jar of a scan from one inflate allowance', async () => {
    const { javaArchiveProbe } = await import('../../src/catalog/java/index.js');
    const { MemoryBudget } = await import('../../src/image/limits.js');
    const budget = new MemoryBudget(1024 ** 3);
    budget.archiveBytesLeft = 20 * 1024 * 1024;
    const zip = overlappingZip(4, 4 * 1024 * 1024); // 16 MiB when read
    const read = (n: number) => {
      const p = javaArchiveProbe.create(`app/lib${n}.jar`, budget);
      p.push(zip);
      return p.finish() as { warnings: string[] };
    };
    const past = (w: string[]) => w.filter((x) => /past the \d+-byte bound/.test(x)).length;
    assert.equal(past(read(1).warnings), 0);
    assert.ok(past(read(2).warnings) > 0);
    assert.ok(budget.archiveBytesLeft >= 0 && budget.archiveBytesLeft < 5 * 1024 * 1024);
  });

  it('counts the bytes it really copies against the bound', async () => {
    const { readJavaArchive } = await import('../../src/catalog/java/archive.js');
    const zip = overlappingZip(200, 4 * 1024 * 1024); // 4 MiB stored once, listed 200 times: 800 MiB if copied
    const before = process.memoryUsage().rss;
    const r = readJavaArchive(zip, 'app.jar', { maxDepth: 8, maxBytes: 64 * 1024 * 1024 });
    assert.ok(
      r.warnings.some((w) => /past the 67108864-byte bound/.test(w)),
      r.warnings.slice(0, 3).join('\n'),
    );
    assert.ok(process.memoryUsage().rss - before < 256 * 1024 * 1024);
  });
});

describe('help and version', () => {
  it('exit 0; an unknown command exits 1', () => {
    for (const a of [['--help'], ['help'], ['--version'], ['image', '--help'], ['help', 'server']]) {
      const r = customs(a);
      assert.equal(r.status, 0, `${a.join(' ')}: ${r.stderr}`);
      assert.ok((r.stdout + r.stderr).length > 0);
    }
    assert.equal(customs(['bogus']).status, 1);
  });
});

describe('rpm databases that name the same bytes many times (found by structure-aware fuzzing)', () => {
  const blobs = () => ndbBlobs(readFileSync(shared('fixtures/rpm/sle15-bci-ndb/Packages.db'))).slice(0, 2);
  const quick = (fn: () => unknown, message: RegExp) => {
    const t0 = performance.now();
    assert.throws(fn, message);
    assert.ok(performance.now() - t0 < 2000, `took ${Math.round(performance.now() - t0)} ms`);
  };

  it('NDB: thousands of slots naming one blob, or a blob inside another', () => {
    const db = buildNdb(blobs());
    // Copy the first package's slot over every free slot of ten more slot pages' worth.
    const pages = 40;
    const big = Buffer.concat([db.subarray(0, 4096), Buffer.alloc((pages - 1) * 4096), db.subarray(4096)]);
    big.writeUInt32LE(pages, 12);
    const shift = ((pages - 1) * 4096) / 16;
    for (let i = 2; i < pages * 256; i++) {
      db.copy(big, i * 16, 32, 48);
      big.writeUInt32LE(db.readUInt32LE(40) + shift, i * 16 + 8);
    }
    quick(() => parseRpmdb(big), /corrupt rpm NDB database: two packages share the bytes/);
  });

  it('Berkeley DB: hash items whose overflow chains share pages', () => {
    const db = buildBdb(blobs(), 4096);
    // The second item's value points at the first item's chain.
    const hash = 4096;
    const first = db.readUInt16LE(hash + 26 + 2);
    const second = db.readUInt16LE(hash + 26 + 6);
    db.writeUInt32LE(db.readUInt32LE(hash + first + 4), hash + second + 4);
    quick(() => parseRpmdb(db), /corrupt rpm Berkeley DB: broken overflow chain/);
  });

  it('a header whose 65,536 entries all read one megabyte of NULs', () => {
    const entries = Array.from({ length: 65_536 }, (_, i) => ({
      tag: 5000 + i,
      type: 8,
      offset: 0,
      count: 1 << 20,
    }));
    quick(
      () => parseHeader(buildHeader(entries, Buffer.alloc(1 << 20))),
      /corrupt rpm header: entries overlap/,
    );
    const ints = Array.from({ length: 65_536 }, (_, i) => ({
      tag: 5000 + i,
      type: 4,
      offset: 0,
      count: 1 << 18,
    }));
    quick(() => parseHeader(buildHeader(ints, Buffer.alloc(1 << 20))), /corrupt rpm header: entries overlap/);
  });
});

describe('a probe that takes too long on one file', () => {
  it('is dropped for that file with a warning naming it; the others still answer', () => {
    const spin = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    const slow: ProbeFactory = {
      name: 'slow',
      wants: () => true,
      create: () => ({ push: () => spin(30), finish: () => 'slow answer' }),
    };
    let bytes = 0;
    const counting: ProbeFactory = {
      name: 'count',
      wants: () => true,
      create: () => ({ push: (c) => void (bytes += c.length), finish: () => bytes }),
    };
    const set = new ProbeSet([slow, counting], 'usr/bin/crafted', 0o755, 4096, undefined, 50);
    for (let i = 0; i < 5; i++) set.push(Buffer.alloc(1024));
    assert.deepEqual(set.finish(), { count: 5120 });
    assert.deepEqual(set.warnings, [
      'usr/bin/crafted: the slow analysis took longer than 0.05 s; skipped for this file',
    ]);
  });
});
