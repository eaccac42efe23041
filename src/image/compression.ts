import { Duplex, Readable, type Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { createRequire } from 'node:module';

/** The part of zstd-napi's native context used here (binding.d.ts). */
interface ZstdBinding {
  DCtx: new () => { decompressStream(out: Uint8Array, input: Uint8Array): [number, number, number] };
  dStreamOutSize(): number;
}

export type Compression = 'gzip' | 'zstd' | 'none';

export function sniffCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

export function decompressor(kind: Compression): Transform | undefined {
  // Large output chunks: fewer callbacks and allocations on the main thread (about 25% faster than 64 KiB).
  if (kind === 'gzip') return createGunzip({ chunkSize: 1024 * 1024 });
  if (kind === 'zstd') return zstdDecompressor();
  return undefined;
}

/**
 * zstd on the native context, one output buffer at a time, as an async generator: it is resumed
 * only when downstream asks for more, so a bomb is stopped by the size guard after one buffer.
 * (zstd-napi's own DecompressStream pushes all the output of an input chunk at once, ignoring
 * backpressure: a 2 MB chunk reached 8 GB before any guard ran.)
 */
function zstdDecompressor(): Transform {
  // Loaded on first use: a native module most images (gzip layers) never need.
  const binding = createRequire(import.meta.url)('zstd-napi/binding') as ZstdBinding;
  const dctx = new binding.DCtx();
  const size = binding.dStreamOutSize();
  return Duplex.from(async function* (source: AsyncIterable<Buffer>) {
    let hint = 0;
    for await (const chunk of source) {
      let input: Uint8Array = chunk;
      while (input.length) {
        const out = Buffer.allocUnsafe(size);
        const [h, produced, consumed] = dctx.decompressStream(out, input);
        hint = h;
        input = input.subarray(consumed);
        if (produced) yield out.subarray(0, produced);
        if (!consumed && !produced) throw new Error('zstd: the decoder made no progress (corrupt data)');
      }
    }
    // What the decoder still holds once all input is in (a hint of 0: the frame is done and flushed).
    while (hint !== 0) {
      const out = Buffer.allocUnsafe(size);
      const [h, produced] = dctx.decompressStream(out, new Uint8Array(0));
      if (!produced) break;
      hint = h;
      yield out.subarray(0, produced);
    }
    if (hint !== 0) throw new Error('zstd: unexpected end of data (truncated stream)');
  }) as unknown as Transform;
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
