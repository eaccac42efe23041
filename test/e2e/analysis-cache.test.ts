import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
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
import { gunzipSync } from 'node:zlib';
import { alpineMuslLayer, makeTar, ociLayout } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { customs, has } from '../helpers/run.js';

// The per-layer analysis cache: two images on one base layer, the base analysed once. To prove a
// layer was not read, its blob is overwritten with other bytes after the first scan: reading it
// would end in a digest mismatch.
let tmp: string;
let env: Record<string, string>;
let base: Buffer;
const site = 'usr/lib/python3.11/site-packages';
const dist = (name: string, version: string) => ({
  name: `${site}/${name}-${version}.dist-info/METADATA`,
  content: `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`,
});

function scan(dir: string): { status: number | null; packages: string[]; stderr: string } {
  const r = customs(['sbom', `oci:${dir}`, '--format', 'json'], { env });
  return {
    status: r.status,
    stderr: r.stderr,
    packages:
      r.status === 0
        ? JSON.parse(r.stdout)
            .packages.map((p: { name: string; version: string }) => `${p.name}@${p.version}`)
            .sort()
        : [],
  };
}
/** Other bytes of the same size where a layer's blob (plain or gzipped) was. */
function spoil(dir: string, layer: Buffer): void {
  const blobs = join(dir, 'blobs', 'sha256');
  for (const f of readdirSync(blobs)) {
    const b = readFileSync(join(blobs, f));
    let plain = b;
    try {
      plain = gunzipSync(b);
    } catch {
      /* not gzip */
    }
    if (plain.equals(layer)) writeFileSync(join(blobs, f), Buffer.alloc(b.length, 0x41));
  }
}
const entries = () => readdirSync(env.CUSTOMS_ANALYSIS_CACHE_DIR).filter((n) => /^[a-f0-9]{64}$/.test(n));

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-acache-'));
  env = { CUSTOMS_ANALYSIS_CACHE: 'on', CUSTOMS_ANALYSIS_CACHE_DIR: join(tmp, 'cache') };
  base = await alpineMuslLayer(undefined, [dist('requests', '2.19.0'), dist('idna', '2.7')]);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('per-layer analysis cache', () => {
  it('a second image on the same base reads only its own layer; whiteouts still apply', async () => {
    const a = join(tmp, 'a');
    ociLayout(a, { layers: [base, await makeTar([dist('flask', '1.0')])], compress: 'none' });
    const first = scan(a);
    assert.equal(first.status, 0, first.stderr);
    assert.deepEqual(first.packages, ['flask@1.0', 'idna@2.7', 'musl@1.1.18-r3', 'requests@2.19.0']);
    assert.equal(entries().length, 2);

    // B: the same base (gzip this time: another blob, the same diff_id), then a layer that adds a
    // package and deletes one of the base's.
    const b = join(tmp, 'b');
    const top = await makeTar([
      dist('django', '2.0'),
      { name: `${site}/.wh.idna-2.7.dist-info`, content: '' },
    ]);
    ociLayout(b, { layers: [base, top] });
    spoil(b, base);
    const second = scan(b);
    assert.equal(second.status, 0, second.stderr);
    assert.deepEqual(second.packages, ['django@2.0', 'musl@1.1.18-r3', 'requests@2.19.0']);
    assert.equal(entries().length, 3);

    // A again, both layers spoiled: every layer from the cache, the same inventory.
    spoil(a, base);
    const again = scan(a);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(again.packages, first.packages);
  });

  it('a damaged entry is dropped and the layer read again, never trusted', () => {
    for (const e of entries()) {
      const f = join(env.CUSTOMS_ANALYSIS_CACHE_DIR, e);
      const b = readFileSync(f);
      b[b.length - 5] ^= 0xff;
      writeFileSync(f, b);
    }
    // B's base blob is spoiled: read again, it no longer matches the manifest.
    const r = scan(join(tmp, 'b'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /layer 1 .*is corrupt|digest mismatch/);
    const s = customs(['cache', 'status'], { env });
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /analysis: \d+ layers?, [\d.]+ MiB/);
    const c = customs(['cache', 'clean'], { env });
    assert.equal(c.status, 0, c.stderr);
    assert.equal(entries().length, 0);
  });
});

// The same with images a real builder made: buildah builds two Dockerfiles that share their first
// step (ADD of an Alpine root filesystem; `--layers` reuses it, as docker build does) and differ
// after it. The second image's scan must read only its own layers: its base blob is spoiled.
describe(
  'per-layer analysis cache with two images buildah built on one base',
  {
    skip: !has('buildah') && 'buildah is not installed (.ci/run installs it)',
  },
  () => {
    const build = (ctx: string, dockerfile: string, tag: string, out: string) => {
      mkdirSync(ctx, { recursive: true });
      copyFileSync(
        shared('images/alpine/alpine-minirootfs-3.18.9-x86_64.tar.gz'),
        join(ctx, 'rootfs.tar.gz'),
      );
      writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
      const store = join(tmp, 'buildah');
      const buildah = (...args: string[]) => {
        const r = spawnSync(
          'buildah',
          [
            '--root',
            join(store, 'root'),
            '--runroot',
            join(store, 'run'),
            '--storage-driver',
            'vfs',
            ...args,
          ],
          { encoding: 'utf8' },
        );
        assert.equal(r.status, 0, `buildah ${args[0]}: ${r.stderr}`);
      };
      buildah('bud', '--layers', '--isolation', 'chroot', '-t', tag, ctx);
      buildah('push', tag, `oci:${out}`);
    };
    const manifestOf = (dir: string) => {
      const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
      return JSON.parse(
        readFileSync(join(dir, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'),
      ) as {
        layers: Array<{ digest: string; size: number }>;
      };
    };

    it('the second image analyses only the layers the first did not have', () => {
      const a = join(tmp, 'buildah-a');
      const b = join(tmp, 'buildah-b');
      build(
        join(tmp, 'ctx-a'),
        'FROM scratch\nADD rootfs.tar.gz /\nRUN echo a > /a.txt\n',
        'customs-test/cache-a:1',
        a,
      );
      build(
        join(tmp, 'ctx-b'),
        "FROM scratch\nADD rootfs.tar.gz /\nRUN rm /etc/motd && printf 'P:customs-b\\nV:1.0-r0\\nA:x86_64\\nL:MIT\\no:customs-b\\n\\n' >> /lib/apk/db/installed\n",
        'customs-test/cache-b:1',
        b,
      );
      const [ma, mb] = [manifestOf(a), manifestOf(b)];
      assert.equal(ma.layers[0].digest, mb.layers[0].digest, 'buildah reused the base layer');
      assert.notEqual(ma.layers[1].digest, mb.layers[1].digest);

      rmSync(env.CUSTOMS_ANALYSIS_CACHE_DIR, { recursive: true, force: true });
      const first = scan(a);
      assert.equal(first.status, 0, first.stderr);
      assert.equal(entries().length, 2);
      // B's base blob now holds other bytes: reading it would fail on its digest.
      const baseBlob = join(b, 'blobs/sha256', mb.layers[0].digest.slice(7));
      writeFileSync(baseBlob, Buffer.alloc(mb.layers[0].size, 0x41));
      const second = scan(b);
      assert.equal(second.status, 0, second.stderr);
      assert.equal(entries().length, 3, "one new entry: B's own layer");
      assert.ok(second.packages.includes('customs-b@1.0-r0'), "B's layer was read");
      assert.deepEqual(
        second.packages.filter((p) => p !== 'customs-b@1.0-r0'),
        first.packages,
        'the base packages came from the cache',
      );
      // And without the cache, B cannot be read at all: the cache is what saved it.
      const cold = customs(['sbom', `oci:${b}`, '--format', 'json'], {
        env: { CUSTOMS_ANALYSIS_CACHE: 'off' },
      });
      assert.equal(cold.status, 1);
      assert.match(cold.stderr, /layer 1 .*(digest mismatch|corrupt)/);
    });
  },
);
