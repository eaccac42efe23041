import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  writeSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { VERSION } from '../version.js';
import type { ReadLayerResult, Wants } from './layer-reader.js';
import { trimOldest } from './layer-cache.js';
import { parseSize, type Limits } from './limits.js';

/** Bumped whenever what a layer read produces changes shape or meaning. */
const FORMAT = 2;

/**
 * Layers whose kept files hold more than this are not cached: writing an entry serialises a copy
 * of them and reading one back holds the entry and its decoded copy at once, so a cached layer
 * costs up to three times what it keeps. Reading such a layer again costs less than that.
 */
export const MAX_CACHED_HELD = 64 * 1024 ** 2;

/**
 * What reading a layer produced (its file table, the files analysers keep, probe results, whiteouts,
 * digests), kept by the layer's diff_id, Customs' version and what was asked of the read, so a
 * second scan of an image — or of another image on the same base layers — reads only the layers it
 * has not seen. Whiteouts and cross-layer ownership still resolve as usual: they are worked out
 * from every layer's table after the reads. Each entry is its payload's SHA-256 followed by the
 * payload (Node's structured serialisation: Maps, Sets and Buffers as they are); an entry that
 * does not check out is removed and the layer read again. Least recently used entries go first
 * past the size bound. The diff_id is bound to the image by its config's digest, so a hit never
 * needs the layer's bytes.
 */
export class AnalysisCache {
  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /** The user's cache ($CUSTOMS_ANALYSIS_CACHE_DIR, bounded by CUSTOMS_ANALYSIS_CACHE_MAX_SIZE); CUSTOMS_ANALYSIS_CACHE=off disables it. */
  static default(): AnalysisCache | undefined {
    if (process.env.CUSTOMS_ANALYSIS_CACHE === 'off') return undefined;
    const root = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
    const dir = process.env.CUSTOMS_ANALYSIS_CACHE_DIR || join(root, 'customs', 'analysis');
    const max = process.env.CUSTOMS_ANALYSIS_CACHE_MAX_SIZE
      ? parseSize(process.env.CUSTOMS_ANALYSIS_CACHE_MAX_SIZE)
      : 2 * 1024 ** 3;
    return new AnalysisCache(dir, max);
  }

  /** The entry name for a layer read this way; undefined when the layer's diff_id is unknown. */
  static keyOf(diffId: string | undefined, wants: Wants, limits: Limits): string | undefined {
    if (!diffId || !/^sha256:[a-f0-9]{64}$/.test(diffId)) return undefined;
    const asked = [
      FORMAT,
      VERSION,
      diffId,
      wants.key ?? '',
      (wants.probes ?? []).map((p) => p.key ?? p.name).join(','),
      limits.maxFileBytes,
      limits.maxDatabaseBytes,
    ].join('|');
    return createHash('sha256').update(asked).digest('hex');
  }

  private file(key: string): string {
    return join(this.dir, key);
  }

  get(key: string): ReadLayerResult | undefined {
    const f = this.file(key);
    let b: Buffer;
    try {
      // Never written this large (put keeps small layers only): a planted or stale entry is not
      // read into memory, and the layer is read instead.
      if (statSync(f).size > MAX_CACHED_HELD + 64 * 1024 ** 2) return undefined;
      b = readFileSync(f);
    } catch {
      return undefined;
    }
    const payload = b.subarray(32);
    if (b.length < 32 || !createHash('sha256').update(payload).digest().equals(b.subarray(0, 32))) {
      rmSync(f, { force: true });
      return undefined;
    }
    try {
      const r = deserialize(payload) as ReadLayerResult;
      const now = new Date();
      utimesSync(f, now, now);
      return r;
    } catch {
      rmSync(f, { force: true });
      return undefined;
    }
  }

  /** Keep a layer's read; a cache that cannot be written never fails the scan. */
  put(key: string, r: ReadLayerResult): void {
    let held = 0;
    for (const f of r.files.values()) if (Buffer.isBuffer(f.content)) held += f.content.length;
    if (held > MAX_CACHED_HELD) return;
    try {
      const payload = serialize(r);
      // Private to the user: an entry holds file contents and the raw secrets the scan masks.
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const tmp = `${this.file(key)}.${process.pid}.part`;
      // Digest and payload written one after the other: joining them would copy the payload.
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, createHash('sha256').update(payload).digest());
        for (let at = 0; at < payload.length;) at += writeSync(fd, payload, at);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.file(key));
      this.evict();
    } catch {
      /* not kept: the next scan reads the layer again */
    }
  }

  entries(): Array<{ path: string; bytes: number; used: number }> {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((n) => /^[a-f0-9]{64}$/.test(n))
      .map((n) => {
        const st = statSync(join(this.dir, n));
        return { path: join(this.dir, n), bytes: st.size, used: st.mtimeMs };
      })
      .sort((a, b) => a.used - b.used);
  }

  private evict(): void {
    trimOldest(this.entries(), this.maxBytes);
  }

  status(): { dir: string; layers: number; bytes: number; maxBytes: number } {
    const e = this.entries();
    return {
      dir: this.dir,
      layers: e.length,
      bytes: e.reduce((a, x) => a + x.bytes, 0),
      maxBytes: this.maxBytes,
    };
  }

  clean(): { layers: number; bytes: number } {
    const e = this.entries();
    for (const x of e) rmSync(x.path, { force: true });
    return { layers: e.length, bytes: e.reduce((a, x) => a + x.bytes, 0) };
  }
}
