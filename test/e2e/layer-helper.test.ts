import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runInNewContext } from 'node:vm';
import { gunzipSync, gzipSync } from 'node:zlib';
import { gunzipFileRange } from '../../src/image/hasher.js';
import { alpineMuslLayer, dockerArchive, ociLayout } from '../helpers/image-writer.js';
import { customs, customsPeak } from '../helpers/run.js';

// Layers of 16 MiB and more in local files are hashed, and gzip ones decompressed, by helper
// threads (src/image/hasher.ts). The same checks must hold there: digests, corrupt and truncated
// data, decompression bombs, and no thread left holding the process open.
let tmp: string;
let layer: Buffer;
let blob: string;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-helper-'));
  // 20 MiB of random bytes do not compress: the gzip blob stays over the 16 MiB threshold.
  layer = await alpineMuslLayer(undefined, [{ name: 'opt/app/data.bin', content: randomBytes(20 << 20) }]);
  ociLayout(join(tmp, 'gz'), { layers: [layer] });
  ociLayout(join(tmp, 'plain'), { layers: [layer], compress: 'none' });
  const blobs = join(tmp, 'gz', 'blobs', 'sha256');
  blob = join(
    blobs,
    readdirSync(blobs).find((f) => statSync(join(blobs, f)).size > 16 << 20)!,
  );
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const packagesOf = (target: string, env: Record<string, string> = {}) => {
  const r = customs(['sbom', target, '--format', 'json'], { env });
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  return {
    packages: doc.packages.map((p: { name: string; version: string }) => `${p.name}@${p.version}`),
    layers: doc.image.layers.map((l: { digest: string; diffId: string }) => `${l.digest} ${l.diffId}`),
  };
};

describe('large layers read by helper threads', { timeout: 180_000 }, () => {
  it('a gzip layer and a plain one give what the main-thread read of the same layer gives', async () => {
    // A docker-archive streamed through gzip has no file to hand over: read on the main thread.
    const streamed = join(tmp, 'streamed.tar.gz');
    writeFileSync(streamed, gzipSync(await dockerArchive({ layers: [layer] })));
    const reference = packagesOf(streamed);
    assert.deepEqual(reference.packages, ['musl@1.1.18-r3']);
    for (const kind of ['gz', 'plain']) {
      const got = packagesOf(`oci:${join(tmp, kind)}`);
      assert.deepEqual(got.packages, reference.packages, kind);
      // The diff_id both ways; the blob digest is the manifest's, checked against the bytes.
      assert.equal(got.layers[0].split(' ')[1], reference.layers[0].split(' ')[1], kind);
    }
  });

  it('in process: the bytes and digests of a gzip blob; the collections it forces leave no gc exposed', async () => {
    // Over 16 MiB decompressed: the main thread runs a minor collection with V8's gc, obtained
    // at run time; no context made afterwards may see it (this test runs without --expose-gc).
    const size = statSync(blob).size;
    const { stream, digests } = gunzipFileRange(blob, { start: 0, end: size }, () => undefined);
    const parts: Buffer[] = [];
    for await (const c of stream) parts.push(c as Buffer);
    const d = await digests;
    const tar = Buffer.concat(parts);
    assert.ok(tar.length > 16 << 20);
    assert.ok(tar.equals(gunzipSync(readFileSync(blob))));
    assert.equal(d.tarBytes, tar.length);
    assert.equal(d.blobBytes, size);
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
    assert.equal(runInNewContext('typeof gc'), 'undefined');
  });

  it('a changed byte in a large plain layer is caught by its digest', () => {
    const dir = join(tmp, 'plain-spoiled');
    ociLayout(dir, { layers: [layer], compress: 'none' });
    const blobs = join(dir, 'blobs', 'sha256');
    const f = join(
      blobs,
      readdirSync(blobs).find((n) => statSync(join(blobs, n)).size > 16 << 20)!,
    );
    const b = readFileSync(f);
    b[b.length - 4096] ^= 0xff; // inside data.bin: the tar still parses
    writeFileSync(f, b);
    const r = customs(['sbom', `oci:${dir}`]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^customs: .*layer 1 digest mismatch/);
  });

  it('a corrupt or truncated large gzip layer is one clear error', () => {
    const good = readFileSync(blob);
    try {
      const bad = Buffer.from(good);
      for (let i = 0; i < 64; i++) bad[Math.floor(bad.length * 0.6) + i] ^= 0x5a;
      writeFileSync(blob, bad);
      let r = customs(['sbom', `oci:${join(tmp, 'gz')}`]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^customs: .*layer 1 .*(is corrupt|mismatch)/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);

      writeFileSync(blob, good.subarray(0, Math.floor(good.length * 0.7)));
      r = customs(['sbom', `oci:${join(tmp, 'gz')}`]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^customs: .*layer 1 .*is truncated/);
    } finally {
      writeFileSync(blob, good);
    }
  });

  it('a hostile entry early in a large gzip layer stops the helper mid-layer; the scan ends at once', async () => {
    const hostile = await alpineMuslLayer(undefined, [
      { name: 'opt/link', type: 'symlink', linkname: '/etc' },
      { name: 'opt/link/passwd', content: 'root::0:0::/:/bin/sh\n' },
      { name: 'opt/app/data.bin', content: randomBytes(20 << 20) },
    ]);
    const dir = join(tmp, 'hostile');
    ociLayout(dir, { layers: [hostile] });
    const t0 = Date.now();
    const r = customs(['sbom', `oci:${dir}`]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /hostile tar entry "opt\/link\/passwd": written through the symlink/);
    assert.ok(Date.now() - t0 < 20_000, 'no thread held the process open');
  });

  it('a 17 MiB gzip bomb stops at the ratio guard, and the helper with it', async () => {
    // A tar header for a 17 GiB file, then gzip members of 64 MiB of zeros, repeated.
    const header = Buffer.alloc(512);
    header.write('zeros', 0);
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write((17 * 1024 ** 3).toString(8).padStart(11, '0') + '\0', 124);
    header.write('00000000000\0', 136);
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const x of header) sum += x;
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    const member = gzipSync(Buffer.alloc(64 << 20), { level: 9 });
    const count = Math.ceil((17 << 20) / member.length);
    const bomb = Buffer.concat([gzipSync(header), ...Array.from({ length: count }, () => member)]);
    const dir = join(tmp, 'bomb');
    ociLayout(dir, { layers: [header], rawBlobs: [bomb] });
    const t0 = Date.now();
    const r = await customsPeak(['sbom', `oci:${dir}`]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /decompression bomb/);
    assert.ok(r.peakMiB < 512, `peak RSS ${r.peakMiB} MiB`);
    assert.ok(Date.now() - t0 < 60_000, 'ended at the guard, not after 17 GiB');
  });
});
