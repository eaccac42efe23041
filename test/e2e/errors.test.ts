import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { dockerArchive, makeTar, ociLayout, sha256, type TarEntry } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { customs, type CliResult } from '../helpers/run.js';

let tmp: string;
before(() => (tmp = mkdtempSync(join(tmpdir(), 'customs-errors-'))));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** One clear line on stderr, exit 1, no stack trace, nothing on stdout. */
function assertCleanFailure(r: CliResult, pattern: RegExp): void {
  assert.equal(r.status, 1, `exit status (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^customs: /);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.match(r.stderr, pattern);
}

async function imageWith(name: string, entries: TarEntry[]): Promise<string> {
  const f = join(tmp, `${name}.tar`);
  writeFileSync(f, await dockerArchive({ layers: [await makeTar(entries)] }));
  return f;
}

describe('bad input: one clear line, non-zero exit, nothing written outside', () => {
  it('missing file', () => {
    assertCleanFailure(customs(['sbom', join(tmp, 'nope.tar')]), /nope\.tar: no such file or directory/);
  });

  it('not an image (random bytes)', () => {
    const f = join(tmp, 'random.bin');
    writeFileSync(
      f,
      Buffer.from('this is not a tar archive, just text that goes on for a while\n'.repeat(40)),
    );
    assertCleanFailure(customs(['sbom', f]), /random\.bin: not a tar archive/);
  });

  it('a tar that is not an image', async () => {
    const f = join(tmp, 'plain.tar');
    writeFileSync(f, await makeTar([{ name: 'hello.txt', content: 'hi' }]));
    assertCleanFailure(customs(['sbom', f]), /not a container image/);
  });

  it('unknown output format', () => {
    assertCleanFailure(
      customs(['sbom', shared('images/docker-archive/trivy-alpine-310.tar.gz'), '--format', 'xml']),
      /unknown format "xml"/,
    );
  });

  it('truncated archive', () => {
    const whole = readFileSync(shared('images/docker-archive/trivy-alpine-310.tar.gz'));
    const f = join(tmp, 'truncated.tar.gz');
    writeFileSync(f, whole.subarray(0, Math.floor(whole.length / 2)));
    assertCleanFailure(customs(['sbom', f]), /truncated/);
  });

  it('truncated plain (uncompressed) archive', async () => {
    const whole = await dockerArchive({
      layers: [
        await makeTar([
          { name: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=3.20.0\n' },
          { name: 'big', content: Buffer.alloc(200_000, 7) },
        ]),
      ],
    });
    const f = join(tmp, 'truncated.tar');
    writeFileSync(f, whole.subarray(0, Math.floor(whole.length / 2)));
    assertCleanFailure(customs(['sbom', f]), /truncated\.tar: archive is truncated/);
  });

  it('layer diff_id mismatch (docker archive)', async () => {
    const layer = await makeTar([{ name: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=3.20.0\n' }]);
    const other = await makeTar([{ name: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=3.20.1\n' }]);
    const good = await dockerArchive({ layers: [layer] });
    const bad = await dockerArchive({ layers: [other] });
    // Splice: the config of one image with the layer of the other, by swapping the manifest's config.
    const f = join(tmp, 'mismatch-src');
    mkdirSync(f);
    writeFileSync(join(f, 'good.tar'), good);
    writeFileSync(join(f, 'bad.tar'), bad);
    const { execFileSync } = await import('node:child_process');
    const dir = join(tmp, 'mismatch');
    mkdirSync(dir);
    execFileSync('tar', ['-xf', join(f, 'good.tar'), '-C', dir]);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    const badCfg = JSON.parse(readFileSync(join(dir, manifest[0].Config), 'utf8'));
    badCfg.rootfs.diff_ids = [sha256(other)];
    writeFileSync(join(dir, manifest[0].Config), JSON.stringify(badCfg));
    const out = join(tmp, 'mismatch.tar');
    execFileSync('tar', ['-cf', out, '-C', dir, ...readdirSync(dir)]);
    assertCleanFailure(
      customs(['sbom', out]),
      /layer 1 diff_id mismatch: the config says sha256:[0-9a-f]{64} but the uncompressed layer is sha256:/,
    );
  });

  it('layer blob digest mismatch (OCI layout)', async () => {
    const dir = join(tmp, 'tampered-oci');
    ociLayout(dir, {
      layers: [await makeTar([{ name: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=3.20.0\n' }])],
    });
    const idx = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    const m = JSON.parse(readFileSync(join(dir, 'blobs/sha256', idx.manifests[0].digest.slice(7)), 'utf8'));
    writeFileSync(
      join(dir, 'blobs/sha256', m.layers[0].digest.slice(7)),
      gzipSync(await makeTar([{ name: 'evil', content: 'x' }])),
    );
    assertCleanFailure(customs(['sbom', `oci:${dir}`]), /layer 1 digest mismatch: the manifest says sha256:/);
  });

  const escapeTarget = () => join(tmp, 'escaped');
  it('absolute path in a layer', async () => {
    const f = await imageWith('absolute', [{ name: '/etc/passwd', content: 'root::0:0::/:/bin/sh\n' }]);
    assertCleanFailure(customs(['sbom', f]), /hostile tar entry "\/etc\/passwd": absolute path/);
  });

  it('../ climbing out of the root', async () => {
    const f = await imageWith('dotdot', [{ name: `../../../../../../..${escapeTarget()}`, content: 'x' }]);
    assertCleanFailure(customs(['sbom', f]), /hostile tar entry ".*": path escapes the image root/);
    assert.equal(existsSync(escapeTarget()), false);
  });

  it('writing through a symlink', async () => {
    const f = await imageWith('symlink', [
      { name: 'sneaky', type: 'symlink', linkname: tmp },
      { name: 'sneaky/escaped', content: 'x' },
    ]);
    assertCleanFailure(
      customs(['sbom', f]),
      /hostile tar entry "sneaky\/escaped": written through the symlink "sneaky"/,
    );
    assert.equal(existsSync(escapeTarget()), false);
  });

  it('decompression bomb', async () => {
    const layer = gzipSync(await makeTar([{ name: 'zeros', content: Buffer.alloc(96 * 1024 * 1024) }]), {
      level: 9,
    });
    const dir = join(tmp, 'bomb-oci');
    ociLayout(dir, { layers: [Buffer.alloc(0)] }); // placeholder, replaced below
    const idx = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    const mp = join(dir, 'blobs/sha256', idx.manifests[0].digest.slice(7));
    const m = JSON.parse(readFileSync(mp, 'utf8'));
    writeFileSync(join(dir, 'blobs/sha256', sha256(layer).slice(7)), layer);
    m.layers[0] = {
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: sha256(layer),
      size: layer.length,
    };
    writeFileSync(mp, JSON.stringify(m)); // manifest digest no longer matters: index points at the path
    assertCleanFailure(
      customs(['sbom', dir, '--max-layer-size', '32M']),
      /layer 1 \(sha256:[0-9a-f]{12}\) expands past 33554432 bytes: refusing a possible decompression bomb/,
    );
  });

  it('corrupt apk database', async () => {
    const f = await imageWith('corrupt-apk', [
      { name: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=3.20.0\n' },
      { name: 'lib/apk/db/installed', content: Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 10, 0, 1]) },
    ]);
    assertCleanFailure(customs(['sbom', f]), /corrupt apk database/);
  });

  it('corrupt rpm database', async () => {
    const f = await imageWith('corrupt-rpm', [
      { name: 'etc/os-release', content: 'ID=rhel\nVERSION_ID=8.4\n' },
      { name: 'var/lib/rpm/Packages', content: Buffer.alloc(4096, 7) },
    ]);
    assertCleanFailure(customs(['sbom', f]), /not an rpm database/);
  });

  it('a stack trace only with --debug', () => {
    const r = customs(['sbom', join(tmp, 'nope.tar'), '--debug']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\n\s+at /);
  });
});
