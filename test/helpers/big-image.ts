/**
 * Writes a docker-save archive of very large files straight to disk, layer by layer, never holding
 * a file in memory: the memory tests and benchmark need gigabytes of image that a Buffer-based
 * writer (image-writer.ts) cannot make. File contents are one seeded pseudo-random MiB repeated
 * (neither JSON nor zip, and cheap to write).
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';

export interface BigFile {
  /** Path inside the image, no leading slash. */
  path: string;
  size: number;
  /** The file's bytes (`size` long); default: seeded pseudo-random bytes, never held whole. */
  content?: Buffer;
}

const BLOCK = 1024 * 1024;

function pseudoRandom(seed: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i += 4) {
    // xorshift32: fast, and enough for bytes nobody may parse
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    b.writeUInt32LE(s >>> 0, i);
  }
  return b;
}

/** One ustar header block (names under 100 bytes, sizes under 8 GiB: no pax records needed). */
function header(name: string, size: number, type: '0' | '5'): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write((type === '5' ? '0000755' : '0000644') + '\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

const pad = (n: number) => (512 - (n % 512)) % 512;

/** A layer tar's size before it is written: headers, contents padded to 512, two zero blocks. */
function layerSize(files: BigFile[]): number {
  return files.reduce((a, f) => a + 512 + f.size + pad(f.size), 0) + 1024;
}

class Out {
  private readonly fd: number;
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }
  /** Written bytes pass through `hashes` too. */
  write(b: Buffer, hashes: Hash[] = []): void {
    for (const h of hashes) h.update(b);
    for (let at = 0; at < b.length;) at += writeSync(this.fd, b, at);
  }
  close(): void {
    closeSync(this.fd);
  }
}

/**
 * A docker-save archive (legacy layout, plain tar) at `out` with one layer per element of
 * `layers`; returns the archive's size in bytes.
 */
export function writeBigDockerArchive(out: string, layers: BigFile[][], tag = 'test/big:latest'): number {
  const o = new Out(out);
  let total = 0;
  const put = (b: Buffer, hashes?: Hash[]) => {
    o.write(b, hashes);
    total += b.length;
  };
  try {
    const diffIds: string[] = [];
    const layerPaths: string[] = [];
    layers.forEach((files, li) => {
      const id = createHash('sha256').update(`big-layer-${li}`).digest('hex');
      put(header(`${id}/`, 0, '5'));
      const size = layerSize(files);
      put(header(`${id}/layer.tar`, size, '0'));
      const diff = createHash('sha256');
      for (const [fi, f] of files.entries()) {
        put(header(f.path, f.size, '0'), [diff]);
        if (f.content) {
          put(f.content, [diff]);
          put(Buffer.alloc(pad(f.size)), [diff]);
          continue;
        }
        const block = pseudoRandom(li * 1000 + fi + 1, BLOCK);
        for (let left = f.size; left > 0; left -= BLOCK)
          put(block.subarray(0, Math.min(BLOCK, left)), [diff]);
        put(Buffer.alloc(pad(f.size)), [diff]);
      }
      put(Buffer.alloc(1024), [diff]);
      put(Buffer.alloc(pad(size)));
      diffIds.push('sha256:' + diff.digest('hex'));
      layerPaths.push(`${id}/layer.tar`);
    });
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Env: ['PATH=/usr/bin:/bin'] },
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: layers.map((_, i) => ({
          created: '2024-01-01T00:00:00Z',
          created_by: `/bin/sh -c #(nop) ADD big${i} in /`,
        })),
      }),
    );
    const cfgName = `${createHash('sha256').update(config).digest('hex')}.json`;
    const manifest = Buffer.from(JSON.stringify([{ Config: cfgName, RepoTags: [tag], Layers: layerPaths }]));
    for (const [name, body] of [
      [cfgName, config],
      ['manifest.json', manifest],
    ] as const) {
      put(header(name, body.length, '0'));
      put(body);
      put(Buffer.alloc(pad(body.length)));
    }
    put(Buffer.alloc(1024));
  } finally {
    o.close();
  }
  return total;
}

/**
 * A .NET deps.json of about `bytes` bytes listing distinct libraries: valid JSON that parses into
 * as many objects as its size allows, the costliest thing to hold for a file under the read limit.
 */
export function depsJson(bytes: number, seed: number): Buffer {
  const parts: string[] = ['{"libraries":{'];
  let n = parts[0].length + 2;
  for (let i = 0; n < bytes - 200; i++) {
    const e = `${i ? ',' : ''}"Lib${seed}.Pkg${i}/1.${i % 97}.${i % 13}":{"type":"package","serviceable":true,"path":"lib${seed}.pkg${i}/1.${i % 97}"}`;
    parts.push(e);
    n += e.length;
  }
  parts.push('}}');
  const b = Buffer.from(parts.join(''));
  return Buffer.concat([b, Buffer.alloc(bytes - b.length, 0x20)]);
}

/** JSON files image catalogers keep and parse whole (an image scan reads no package-lock.json). */
export const BIG_JSON = [
  'app0/node_modules/big/package.json',
  'app1/App.deps.json',
  'app2/vendor/composer/installed.json',
];

/**
 * The hostile shape of issue 28: six 500 MB files at paths catalogers keep — three JSON files
 * parsed whole (BIG_JSON) and three `.jar` — of bytes that are neither JSON nor zip, one of each
 * per layer.
 */
export function sixBigFiles(size = 500_000_000): BigFile[][] {
  return [0, 1, 2].map((i) => [
    { path: BIG_JSON[i], size },
    { path: `app${i}/lib/big${i}.jar`, size },
  ]);
}
