import { Readable, type Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { createRequire } from 'node:module';
import type { DecompressStream as ZstdDecompressStream } from 'zstd-napi';

export type Compression = 'gzip' | 'zstd' | 'none';

export function sniffCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

export function decompressor(kind: Compression): Transform | undefined {
  // Large output chunks: fewer callbacks and allocations on the main thread (about 25% faster than 64 KiB).
  if (kind === 'gzip') return createGunzip({ chunkSize: 1024 * 1024 });
  if (kind === 'zstd') {
    // Loaded on first use: a native module most images (gzip layers) never need.
    const { DecompressStream } = createRequire(import.meta.url)('zstd-napi') as {
      DecompressStream: typeof ZstdDecompressStream;
    };
    return new DecompressStream();
  }
  return undefined;
}

/**
 * Look at the first chunk of a stream to tell its compression, and hand back a stream that
 * still yields every byte (the first chunk included).
 */
export async function sniff(stream: Readable): Promise<{ head: Buffer; rest: Readable }> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await it.next();
  const head: Buffer = first.done ? Buffer.alloc(0) : first.value;
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { head, rest: Readable.from(all(), { objectMode: false }) };
}
