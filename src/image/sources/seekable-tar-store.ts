import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { CustomsError } from '../../errors.js';
import { readLayer, type ReadLayerResult, type Wants } from '../layer-reader.js';
import type { Limits } from '../limits.js';
import type { LayerInfo } from '../model.js';
import { normalizeEntryPath } from '../paths.js';
import type { BlobStore } from './store.js';
import { indexTar, type TarIndexEntry } from './tar-index.js';

const MAX_DOC_BYTES = 16 * 1024 * 1024;

/**
 * An uncompressed image archive on disk (what `docker save -o` writes): indexed by header hops,
 * then read by byte range, so layers can be read two at a time and only the chosen platform's.
 */
export class SeekableTarStore implements BlobStore {
  private readonly entries = new Map<string, TarIndexEntry>();

  constructor(
    private readonly file: string,
    readonly input: string,
  ) {
    for (const e of indexTar(file)) this.entries.set(e.name, e);
  }

  /** Follow symlinks and hard links between archive entries (older docker save links shared layers). */
  private find(path: string): TarIndexEntry | undefined {
    let name = normalizeEntryPath(path);
    for (let i = 0; i < 16; i++) {
      const e = this.entries.get(name);
      if (!e || (e.type !== 'symlink' && e.type !== 'link') || !e.linkname) return e;
      const dir = name.includes('/') ? name.slice(0, name.lastIndexOf('/')) : '';
      name = normalizeEntryPath(
        e.type === 'link' || e.linkname.startsWith('/')
          ? e.linkname.replace(/^\//, '')
          : dir
            ? `${dir}/${e.linkname}`
            : e.linkname,
      );
    }
    return undefined;
  }

  has(path: string): boolean {
    return this.find(path)?.type === 'file';
  }

  async readSmall(path: string): Promise<Buffer> {
    const e = this.find(path);
    if (!e || e.type !== 'file') throw new CustomsError(`${path} is missing from the archive`);
    if (e.size > MAX_DOC_BYTES) throw new CustomsError(`${path} is too large for an image document`);
    const buf = Buffer.alloc(e.size);
    const fd = openSync(this.file, 'r');
    try {
      readSync(fd, buf, 0, e.size, e.offset);
    } finally {
      closeSync(fd);
    }
    return buf;
  }

  readLayer(path: string, info: LayerInfo, wants: Wants, limits: Limits): Promise<ReadLayerResult> {
    const e = this.find(path);
    if (!e || e.type !== 'file')
      throw new CustomsError(`layer ${info.index + 1} (${path}) is missing from the archive`);
    const stream =
      e.size > 0
        ? createReadStream(this.file, {
            start: e.offset,
            end: e.offset + e.size - 1,
            highWaterMark: 1024 * 1024,
          })
        : createReadStream(this.file, { start: 0, end: -1 });
    return readLayer(stream, info, wants, limits, {
      path: this.file,
      start: e.offset,
      end: e.offset + e.size,
    });
  }
}

/** An uncompressed tar? (ustar magic at byte 257 of the first header.) */
export function isPlainTar(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const h = Buffer.alloc(512);
    const n = readSync(fd, h, 0, 512, 0);
    return n === 512 && h.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    closeSync(fd);
  }
}
