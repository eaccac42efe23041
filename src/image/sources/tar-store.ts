import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { CustomsError } from '../../errors.js';
import { decompressor, sniff, sniffCompression } from '../compression.js';
import { readLayer, type ReadLayerResult, type Wants } from '../layer-reader.js';
import { ByteCounter, sizeGuard, type Limits } from '../limits.js';
import type { LayerInfo } from '../model.js';
import { normalizeEntryPath } from '../paths.js';
import type { BlobStore } from './store.js';

/** Entries up to this size are kept in memory during the pass (manifests, configs, tiny layers). */
const SMALL_ENTRY = 4 * 1024 * 1024;

/**
 * An image archive (`docker save` output or an OCI archive), plain or compressed, read in one
 * streaming pass. Which blobs are layers is only known once manifest.json/index.json has been
 * read, and `docker save` writes those last, so large entries are indexed as candidate layers
 * as they stream past and small ones are kept; nothing is extracted to disk.
 */
export class TarStore implements BlobStore {
  private readonly small = new Map<string, Buffer>();
  private readonly layers = new Map<string, ReadLayerResult | Error>();
  private readonly links = new Map<string, string>();
  private readonly names = new Set<string>();

  private constructor(readonly input: string) {}

  static async open(file: string, input: string, wants: Wants, limits: Limits): Promise<TarStore> {
    const store = new TarStore(input);
    await store.scan(createReadStream(file, { highWaterMark: 256 * 1024 }), wants, limits);
    return store;
  }

  /** The same single pass over a stream (a daemon's `docker save` output). */
  static async fromStream(source: Readable, input: string, wants: Wants, limits: Limits): Promise<TarStore> {
    const store = new TarStore(input);
    await store.scan(source, wants, limits);
    return store;
  }

  private async scan(source: Readable, wants: Wants, limits: Limits): Promise<void> {
    const { head, rest } = await sniff(source);
    const dec = decompressor(sniffCompression(head));
    const extract = tar.extract();
    // A compressed outer archive gets the same bomb guard as each layer (all layers together may
    // be larger than one, hence four times the layer limit).
    const counted = new ByteCounter();
    const piping = (
      dec
        ? pipeline(
            rest,
            counted,
            dec,
            sizeGuard('the archive', limits, counted, limits.maxLayerBytes * 4),
            extract,
          )
        : pipeline(rest, extract)
    ).catch((e: unknown) => e);
    let buffered = 0;
    let count = 0;
    try {
      for await (const entry of extract) {
        count++;
        const h = entry.header;
        const name = normalizeEntryPath(h.name);
        this.names.add(name);
        if (h.type === 'symlink' || h.type === 'link') {
          const target = h.type === 'link' ? h.linkname! : joinRel(name, h.linkname ?? '');
          this.links.set(name, normalizeEntryPath(target));
          entry.resume();
        } else if (h.type !== 'file' && h.type !== 'contiguous-file') {
          entry.resume();
        } else if ((h.size ?? 0) <= SMALL_ENTRY) {
          buffered += h.size ?? 0;
          if (buffered > limits.maxBufferedBytes) {
            throw new CustomsError(
              `more than ${limits.maxBufferedBytes} bytes of small entries in the archive`,
            );
          }
          const chunks: Buffer[] = [];
          for await (const c of entry) chunks.push(c as Buffer);
          this.small.set(name, Buffer.concat(chunks));
        } else {
          // Feed the layer reader without letting it tear down the outer entry on error: its
          // early exit must not destroy the archive stream, and what it leaves is drained here.
          const it = (entry as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
          const shielded: AsyncIterable<Buffer> = {
            [Symbol.asyncIterator]: () => ({
              next: () => it.next(),
              return: async () => ({ done: true as const, value: undefined }),
            }),
          };
          try {
            this.layers.set(name, await readLayer(Readable.from(shielded), { index: -1 }, wants, limits));
          } catch (err) {
            this.layers.set(name, err as Error);
          }
          for (;;) if ((await it.next()).done) break;
        }
      }
    } catch (err) {
      source.destroy();
      await piping;
      throw explain(err, count);
    }
    const err = await piping;
    if (err) throw explain(err, count);
    if (count === 0) throw new CustomsError('not a tar archive (or an empty one)');
  }

  private real(path: string): string {
    let p = normalizeEntryPath(path);
    for (let i = 0; i < 16 && this.links.has(p); i++) p = this.links.get(p)!;
    return p;
  }

  has(path: string): boolean {
    const p = this.real(path);
    return this.small.has(p) || this.layers.has(p);
  }

  entryNames(): string[] {
    return [...this.names];
  }

  async readSmall(path: string): Promise<Buffer> {
    const b = this.small.get(this.real(path));
    if (!b && this.layers.has(this.real(path)))
      throw new CustomsError(`${path} is too large for an image document (over ${SMALL_ENTRY} bytes)`);
    if (!b) throw new CustomsError(`${path} is missing from the archive`);
    return b;
  }

  async readLayer(path: string, info: LayerInfo, wants: Wants, limits: Limits): Promise<ReadLayerResult> {
    const p = this.real(path);
    const done = this.layers.get(p);
    if (done instanceof Error) throw done;
    if (done) {
      // Same blob used twice (a layer repeated in the image): hand out a copy with its own info.
      return { ...done, info };
    }
    const b = this.small.get(p);
    if (!b) throw new CustomsError(`layer ${info.index + 1} (${path}) is missing from the archive`);
    return readLayer(Readable.from([b]), info, wants, limits);
  }
}

function joinRel(from: string, target: string): string {
  if (target.startsWith('/')) return target.slice(1);
  const dir = from.includes('/') ? from.slice(0, from.lastIndexOf('/')) : '';
  return dir ? `${dir}/${target}` : target;
}

function explain(err: unknown, count: number): Error {
  if (err instanceof CustomsError) return err;
  const msg = (err as Error)?.message ?? String(err);
  if (
    /unexpected end|premature|truncated/i.test(msg) ||
    (err as NodeJS.ErrnoException)?.code === 'Z_BUF_ERROR'
  ) {
    return new CustomsError(`archive is truncated after ${count} entries (${msg})`, undefined, {
      cause: err,
    });
  }
  if (count === 0) return new CustomsError(`not a tar archive (${msg})`, undefined, { cause: err });
  return new CustomsError(`archive is corrupt (${msg})`, undefined, { cause: err });
}
