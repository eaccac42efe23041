import { createReadStream, existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CustomsError } from '../../errors.js';
import { readLayer } from '../layer-reader.js';
import type { Limits } from '../limits.js';
import type { LayerInfo } from '../model.js';
import { normalizeEntryPath } from '../paths.js';
import type { BlobStore } from './store.js';
import type { Wants } from '../layer-reader.js';

const MAX_DOC_BYTES = 16 * 1024 * 1024;

/** An OCI image layout in a folder. */
export class DirStore implements BlobStore {
  constructor(
    readonly dir: string,
    readonly input: string,
  ) {}

  private file(path: string): string {
    return join(this.dir, normalizeEntryPath(path));
  }

  has(path: string): boolean {
    return existsSync(this.file(path));
  }

  async readSmall(path: string): Promise<Buffer> {
    const f = this.file(path);
    if (!existsSync(f)) throw new CustomsError(`${path} is missing`);
    if (statSync(f).size > MAX_DOC_BYTES)
      throw new CustomsError(`${path} is too large for an image document`);
    return readFile(f);
  }

  readLayer(path: string, info: LayerInfo, wants: Wants, limits: Limits) {
    const f = this.file(path);
    if (!existsSync(f)) throw new CustomsError(`layer ${info.index + 1} blob ${path} is missing`);
    const size = statSync(f).size;
    return readLayer(createReadStream(f, { highWaterMark: 256 * 1024 }), info, wants, limits, {
      path: f,
      start: 0,
      end: size,
    });
  }
}
