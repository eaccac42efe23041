import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { CustomsError } from '../errors.js';
import { download, type DownloadResult } from './download.js';
import { importPath } from './import.js';
import type { FeedSource } from './sources.js';
import { VulnStore, type StoreWriter } from './store.js';

export interface SourceOutcome {
  name: string;
  status: 'updated' | 'unchanged' | 'failed';
  records?: number;
  bytes: number;
  error?: string;
  warnings: number;
}

export interface UpdateOptions {
  idleTimeoutMs?: number;
  retries?: number;
  /** Each download (one feed file) must end within this many ms (default 30 minutes). */
  deadlineMs?: number;
  /** A feed file past this many bytes is refused (default MAX_FEED_BYTES; tests lower it). */
  maxBytes?: number;
  /** Called as bytes arrive, for a progress display. */
  onProgress?: (source: string, received: number, total?: number) => void;
}

/**
 * The largest feed file taken (compressed, as downloaded). Upstream's largest, OSV's per-ecosystem
 * all.zip, is a few hundred MB; without a bound an endless body filled the disk.
 */
export const MAX_FEED_BYTES = 4 * 1024 ** 3;
const DEFAULT_FEED_DEADLINE_MS = 30 * 60_000;
/** NVD's .meta file is five short lines. */
const MAX_META_BYTES = 64 * 1024;

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');

/** NVD's `.meta` file beside each feed gives the sha256 of the uncompressed JSON. */
async function verifyNvdMeta(url: string, file: string, opts: UpdateOptions): Promise<void> {
  const metaUrl = url.replace(/\.json\.gz$/, '.meta');
  const metaFile = `${file}.meta`;
  await download(metaUrl, metaFile, {
    idleTimeoutMs: opts.idleTimeoutMs,
    retries: opts.retries,
    deadlineMs: opts.deadlineMs ?? DEFAULT_FEED_DEADLINE_MS,
    maxBytes: MAX_META_BYTES,
  });
  const want = /sha256:([0-9A-Fa-f]{64})/.exec(readFileSync(metaFile, 'utf8'))?.[1]?.toLowerCase();
  if (!want) throw new CustomsError(`${metaUrl}: no sha256 in the meta file`);
  // Hashed as it inflates: gunzipSync held the whole JSON in memory (a gzip bomb, all of it).
  const h = createHash('sha256');
  await pipeline(
    createReadStream(file),
    createGunzip(),
    new Writable({
      write(c: Buffer, _enc, cb) {
        h.update(c);
        cb();
      },
    }),
  ).catch((err: unknown) => {
    throw new CustomsError(`${url}: not a readable gzip file (${(err as Error).message})`);
  });
  const got = h.digest('hex');
  if (got !== want)
    throw new CustomsError(`${url}: checksum mismatch (the meta file says ${want}, the download is ${got})`);
}

function readValidators(dbPath: string): VulnStore | undefined {
  if (!existsSync(dbPath)) return undefined;
  try {
    return VulnStore.openRead(dbPath);
  } catch {
    return undefined; // an unreadable or older database is rebuilt from fresh downloads
  }
}

function clearReplaced(w: StoreWriter, s: FeedSource): void {
  const { source, ecosystem } = s.replaces;
  if (source === 'osv' && ecosystem) {
    w.db.prepare("DELETE FROM affected WHERE source = 'osv' AND eco_base = ?").run(ecosystem);
  } else if (source !== 'kev' && source !== 'epss' && source !== 'nvd') {
    w.clearSource(source);
  }
}

/**
 * Download every source (conditionally), then import what changed into a new copy of the
 * database. A source that fails to download or import keeps its last good data and is reported;
 * the others go ahead.
 */
export async function updateDatabase(
  dbPath: string,
  sources: FeedSource[],
  opts: UpdateOptions = {},
): Promise<SourceOutcome[]> {
  const dlDir = join(dirname(dbPath), 'downloads');
  const prev = readValidators(dbPath);
  const prevSources = new Map((prev?.sources() ?? []).map((s) => [s.name, s]));
  const outcomes: SourceOutcome[] = [];
  const fetched = new Map<string, Array<{ url: string; result: DownloadResult }>>();
  const partial = new Map<string, string[]>();
  const partialErrors: string[] = [];
  try {
    for (const s of sources) {
      const dir = join(dlDir, safe(s.name));
      mkdirSync(dir, { recursive: true });
      const results: Array<{ url: string; result: DownloadResult }> = [];
      let bytes = 0;
      try {
        for (const url of s.urls) {
          // Named by URL, not position: a branch list read from upstream's index shifts positions.
          const file = join(dir, `${safe(new URL(url).pathname.replace(/^\/+/, ''))}`);
          const v = prev?.download(url);
          try {
            const result = await download(url, file, {
              etag: v?.etag,
              lastModified: v?.lastModified,
              idleTimeoutMs: opts.idleTimeoutMs,
              retries: opts.retries,
              deadlineMs: opts.deadlineMs ?? DEFAULT_FEED_DEADLINE_MS,
              maxBytes: opts.maxBytes ?? MAX_FEED_BYTES,
              onProgress: (n, total) => opts.onProgress?.(s.name, bytes + n, total),
            });
            if (s.checksum === 'nvd-meta' && result.status === 'downloaded')
              await verifyNvdMeta(url, file, opts).catch((err: unknown) => {
                rmSync(file, { force: true }); // never a "last good copy"
                throw err;
              });
            bytes += result.status === 'downloaded' ? result.bytes : 0;
            results.push({ url, result });
          } catch (err) {
            if (!s.partial) throw err;
            // One branch or year failing keeps its last good copy, or leaves it out; the rest go ahead.
            const kept = existsSync(file) && v;
            partialErrors.push(
              `${url}: ${(err as Error).message}; ${kept ? 'its last good copy is used' : 'left out this time'}`,
            );
            if (kept)
              results.push({
                url,
                result: {
                  status: 'not-modified',
                  file,
                  etag: v.etag,
                  lastModified: v.lastModified,
                  bytes: 0,
                },
              });
          }
        }
        if (!results.length) throw new CustomsError(partialErrors.join('; '));
        partial.set(s.name, partialErrors.splice(0));
        const changed =
          results.some((r) => r.result.status === 'downloaded') ||
          !prevSources.has(s.name) ||
          prevSources.get(s.name)?.status !== 'ok';
        if (changed) fetched.set(s.name, results);
        else
          outcomes.push({
            name: s.name,
            status: 'unchanged',
            bytes: 0,
            warnings: 0,
            records: prevSources.get(s.name)?.records,
          });
      } catch (err) {
        outcomes.push({ name: s.name, status: 'failed', bytes, error: (err as Error).message, warnings: 0 });
      }
    }
  } finally {
    prev?.close();
  }

  await VulnStore.update(dbPath, async (w) => {
    for (const s of sources) {
      const results = fetched.get(s.name);
      if (!results) continue;
      w.db.exec('SAVEPOINT source');
      try {
        clearReplaced(w, s);
        let warnings = 0;
        for (const { result } of results) {
          const report = await importPath(w, result.file);
          for (const c of report.sources.values()) warnings += c.warnings.length;
          warnings += report.refused.length;
          if (report.sources.size === 0)
            throw new CustomsError(`${result.file}: not a feed this source should publish`);
        }
        if (s.replaces.source === 'osv') {
          w.db.exec(
            "DELETE FROM advisories WHERE source = 'osv' AND withdrawn IS NULL AND id NOT IN (SELECT id FROM affected WHERE source = 'osv')",
          );
        }
        for (const { url, result } of results)
          if (result.status === 'downloaded') w.setDownload(url, result.etag, result.lastModified);
        // importPath named sources by content (osv:PyPI…); the feed's own row is what update tracks.
        w.setSource({
          name: s.name,
          kind: 'feed',
          location: s.urls[0],
          etag: results[0]?.result.etag,
          lastModified: results[0]?.result.lastModified,
          records: w.recordsOf(s.name),
          status: 'ok',
        });
        w.db.exec('RELEASE source');
        outcomes.push({
          name: s.name,
          status: 'updated',
          records: w.recordsOf(s.name),
          ...(partial.get(s.name)?.length ? { error: partial.get(s.name)!.join('; ') } : {}),
          bytes: results.reduce((n, r) => n + r.result.bytes, 0),
          warnings,
        });
      } catch (err) {
        w.db.exec('ROLLBACK TO source');
        w.db.exec('RELEASE source');
        outcomes.push({
          name: s.name,
          status: 'failed',
          bytes: 0,
          error: (err as Error).message,
          warnings: 0,
        });
      }
    }
    for (const o of outcomes.filter((x) => x.status === 'failed')) {
      const before = prevSources.get(o.name) ?? w.source(o.name);
      w.setSource({
        ...(before ?? { name: o.name, kind: 'feed', records: 0 }),
        status: 'error',
        error: o.error,
        updatedAt: before?.updatedAt,
      });
    }
  });
  return outcomes;
}
