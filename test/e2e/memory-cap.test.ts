import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { strToU8, zipSync } from 'fflate';
import { readJavaArchive, readJavaArchiveFile } from '../../src/catalog/java/archive.js';
import { BIG_JSON, depsJson, sixBigFiles, writeBigDockerArchive } from '../helpers/big-image.js';
import { dockerArchive, makeTar } from '../helpers/image-writer.js';
import { customsPeak } from '../helpers/run.js';

// Issue 28: with the default budget no image pushes a scan past 1 GiB of resident memory. The
// built CLI scans a 3 GB image of six 500 MB files at paths catalogers keep (three JSON files
// parsed whole, three jars; neither JSON nor zip) and is killed past 1 GiB (peak from the
// kernel's high-water mark, polled); then again with the analysis cache warm (the replay path).

const CAP_MIB = 1024;
let tmp: string;
let image: string;
/** What the scans may use as TMPDIR: spooled jars go there, and nothing may be left behind. */
let scanTmp: string;

const pomJar = (group: string, artifact: string, version: string, extra: Record<string, Uint8Array> = {}) =>
  zipSync({
    [`META-INF/maven/${group}/${artifact}/pom.properties`]: strToU8(
      `groupId=${group}\nartifactId=${artifact}\nversion=${version}\n`,
    ),
    ...extra,
  });

describe('the memory budget bounds a scan (six 500 MB files)', { timeout: 240_000 }, () => {
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-memcap-'));
    scanTmp = join(tmp, 'scan-tmp');
    mkdirSync(scanTmp);
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const env = () => ({
    TMPDIR: scanTmp,
    CUSTOMS_ANALYSIS_CACHE: 'on',
    CUSTOMS_ANALYSIS_CACHE_DIR: join(tmp, 'analysis'),
    XDG_CACHE_HOME: join(tmp, 'xdg'),
  });

  function judge(t: TestContext, r: Awaited<ReturnType<typeof customsPeak>>, what: string): void {
    assert.ok(!r.capped, `${what}: killed past ${CAP_MIB} MiB`);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.peakMiB <= CAP_MIB, `${what}: peak RSS ${r.peakMiB} MiB`);
    // Every big file is named in a warning saying why it was not read.
    for (const p of BIG_JSON)
      assert.match(
        r.stderr,
        new RegExp(
          `${p.replace(/[.]/g, '\\.')}: 500000000 bytes is larger than the \\d+-byte read limit; skipped`,
        ),
      );
    for (const i of [0, 1, 2])
      assert.match(r.stderr, new RegExp(`/app${i}/lib/big${i}\\.jar: not a readable zip archive`));
    assert.deepEqual(readdirSync(scanTmp), [], 'spooled jars left behind');
    t.diagnostic(`${what}: peak RSS ${r.peakMiB} MiB, ${(r.ms / 1000).toFixed(1)} s`);
  }

  it('cold (filling the analysis cache) and warm (replaying it): under 1 GiB, skipped files named', async (t) => {
    if (statfsSync(tmpdir()).bavail * statfsSync(tmpdir()).bsize < 8 * 1024 ** 3) {
      t.skip('less than 8 GB free under the temporary folder');
      return;
    }
    image = join(tmp, 'six.tar');
    writeBigDockerArchive(image, sixBigFiles());
    const args = [
      'sbom',
      `docker-archive:${image}`,
      '--format',
      'cyclonedx',
      '--output',
      join(tmp, 'sbom.json'),
    ];
    judge(t, await customsPeak(args, { env: env(), capMiB: CAP_MIB }), 'cold');
    assert.ok(readdirSync(join(tmp, 'analysis')).length >= 3, 'the layers were cached');
    judge(t, await customsPeak(args, { env: env(), capMiB: CAP_MIB }), 'warm analysis cache');
    rmSync(image, { force: true });
  });

  it('a file listing more packages than one file may: the first 50,000 kept, a warning says so', async () => {
    const content = depsJson(14 * 1024 * 1024, 1);
    const archive = join(tmp, 'many.tar');
    writeBigDockerArchive(archive, [[{ path: 'app/App.deps.json', size: content.length, content }]]);
    const r = await customsPeak(['sbom', archive, '--format', 'json'], { env: env(), capMiB: CAP_MIB });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { packages: unknown[] }).packages.length, 50_000);
    assert.match(r.stderr, /\/app\/App\.deps\.json: lists 1\d{5} packages, more than the 50000 one file may/);
    rmSync(archive, { force: true });
  });

  it('files listing more than a scan keeps: parsed until it is full, the rest named and not read', async (t) => {
    const files = [1, 2, 3].map((i) => {
      const content = depsJson(14 * 1024 * 1024, 10 + i);
      return { path: `app${i}/A${i}.deps.json`, size: content.length, content };
    });
    const archive = join(tmp, 'three.tar');
    writeBigDockerArchive(archive, [files]);
    const r = await customsPeak(['sbom', archive, '--format', 'cyclonedx'], { env: env(), capMiB: CAP_MIB });
    assert.ok(!r.capped, `killed past ${CAP_MIB} MiB`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { components: unknown[] }).components.length, 100_000);
    assert.equal(r.stderr.match(/more than the 50000 one file may/g)?.length, 2);
    assert.match(
      r.stderr,
      /dotnet-deps: 100000 packages found, as many as a scan keeps; \/app\d\/A\d\.deps\.json and the rest not read/,
    );
    t.diagnostic(`three 14 MiB deps.json: peak RSS ${r.peakMiB} MiB, ${(r.ms / 1000).toFixed(1)} s`);
    rmSync(archive, { force: true });
  });

  it('a valid 63 MiB deps.json of 728,000 libraries: streamed, refused past what may be kept, under 1 GiB', async (t) => {
    // Parsed whole, this file took the scan to 1.17 GiB RSS (issue 28); streamed, only the
    // fields the cataloger reads are built, and past MAX_KEPT the file is named and left out.
    const content = depsJson(63 * 1024 * 1024, 2);
    const archive = join(tmp, 'deps63.tar');
    writeBigDockerArchive(archive, [[{ path: 'app/App.deps.json', size: content.length, content }]]);
    const args = [
      'sbom',
      `docker-archive:${archive}`,
      '--format',
      'cyclonedx',
      '--output',
      join(tmp, 'd.json'),
    ];
    for (const what of ['cold', 'warm analysis cache']) {
      const r = await customsPeak(args, { env: env(), capMiB: CAP_MIB });
      assert.ok(!r.capped, `${what}: killed past ${CAP_MIB} MiB`);
      assert.equal(r.status, 0, r.stderr);
      assert.match(
        r.stderr,
        /\/app\/App\.deps\.json: not a readable dotnet-deps file \(the fields read from it weigh more than 16 MiB/,
      );
      t.diagnostic(`63 MiB deps.json, ${what}: peak RSS ${r.peakMiB} MiB, ${(r.ms / 1000).toFixed(1)} s`);
    }
    rmSync(archive, { force: true });
  });

  it('a jar over the spool size is read from disk: the same artifacts as from memory', async () => {
    // 40 MB: a stored filler entry makes the jar large enough to be spooled.
    const filler = new Uint8Array(40 * 1024 * 1024).fill(7);
    const jar = Buffer.from(
      zipSync(
        {
          'META-INF/maven/com.example/big-app/pom.properties': strToU8(
            'groupId=com.example\nartifactId=big-app\nversion=3.1.4\n',
          ),
          'BOOT-INF/lib/log4j-core-2.14.1.jar': [
            pomJar('org.apache.logging.log4j', 'log4j-core', '2.14.1'),
            { level: 0 },
          ],
          'BOOT-INF/lib/inner.war': [
            pomJar('g', 'inner', '1', { 'WEB-INF/lib/x-2.jar': pomJar('g', 'x', '2') }),
            { level: 0 },
          ],
          'filler.bin': [filler, { level: 0 }],
        },
        { level: 6 },
      ),
    );
    const file = join(tmp, 'big-app.jar');
    writeFileSync(file, jar);
    assert.deepEqual(readJavaArchiveFile(file, 'big-app.jar'), readJavaArchive(jar, 'big-app.jar'));
    const archive = join(tmp, 'jar-image.tar');
    writeFileSync(
      archive,
      await dockerArchive({ layers: [await makeTar([{ name: 'opt/big-app.jar', content: jar }])] }),
    );
    const r = await customsPeak(['sbom', archive, '--format', 'json', '-q'], { env: env() });
    assert.equal(r.status, 0, r.stderr);
    const found = (
      JSON.parse(r.stdout) as {
        packages: Array<{ name: string; version: string; locations: Array<{ path: string }> }>;
      }
    ).packages
      .map((p) => `${p.name}@${p.version} ${p.locations[0].path}`)
      .sort();
    assert.deepEqual(found, [
      'com.example:big-app@3.1.4 /opt/big-app.jar',
      'g:inner@1 /opt/big-app.jar!/BOOT-INF/lib/inner.war',
      'g:x@2 /opt/big-app.jar!/BOOT-INF/lib/inner.war!/WEB-INF/lib/x-2.jar',
      'org.apache.logging.log4j:log4j-core@2.14.1 /opt/big-app.jar!/BOOT-INF/lib/log4j-core-2.14.1.jar',
    ]);
    assert.deepEqual(readdirSync(scanTmp), [], 'spooled jars left behind');
  });
});
