import { createHash } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { CustomsError } from '../errors.js';

export interface DownloadResult {
  status: 'downloaded' | 'not-modified';
  file: string;
  etag?: string;
  lastModified?: string;
  bytes: number;
}

export interface DownloadOptions {
  /** Validators from the last download, for a conditional request. */
  etag?: string;
  lastModified?: string;
  /** An idle connection (no bytes for this long) ends in an error, never a hang. */
  idleTimeoutMs?: number;
  retries?: number;
  /** The whole download, retries included, ends within this many ms (a drip never trips idle). */
  deadlineMs?: number;
  /** A body past this many bytes ends the download at once (an endless body). */
  maxBytes?: number;
  onProgress?: (received: number, total?: number) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function retryAfter(res: Response): number | undefined {
  const h = res.headers.get('retry-after');
  if (!h) return undefined;
  const secs = Number(h);
  if (Number.isFinite(secs)) return Math.min(secs * 1000, 60_000);
  const at = Date.parse(h);
  return Number.isFinite(at) ? Math.min(Math.max(0, at - Date.now()), 60_000) : undefined;
}

/**
 * Fetch a URL to a file: conditional (ETag / Last-Modified), resumable (a `.part` file is
 * continued with Range + If-Range), with bounded retries on 429/5xx honouring Retry-After, and an
 * idle timeout. The file appears complete or not at all.
 */
export async function download(
  url: string,
  file: string,
  opts: DownloadOptions = {},
): Promise<DownloadResult> {
  const part = `${file}.part`;
  const partMeta = `${file}.part.json`;
  const idle = opts.idleTimeoutMs ?? 30_000;
  const retries = opts.retries ?? 3;
  const deadline = opts.deadlineMs ? Date.now() + opts.deadlineMs : Infinity;
  const late = () =>
    new CustomsError(`${url}: not downloaded within the deadline of ${opts.deadlineMs! / 1000} s; refused`);
  for (let attempt = 0; ; attempt++) {
    if (Date.now() >= deadline) throw late();
    const headers: Record<string, string> = { 'user-agent': 'customs' };
    // Conditional only when the last complete copy is still here to reuse.
    if (existsSync(file)) {
      if (opts.etag) headers['if-none-match'] = opts.etag;
      if (opts.lastModified) headers['if-modified-since'] = opts.lastModified;
    }
    let resumeFrom = 0;
    if (existsSync(part) && existsSync(partMeta)) {
      let meta: { url?: string; etag?: string } = {};
      try {
        meta = JSON.parse(readFileSync(partMeta, 'utf8')) as typeof meta;
      } catch {
        // cut short by a kill mid-write: the part is not resumed, the download starts over
      }
      if (meta?.url === url && meta.etag) {
        resumeFrom = statSync(part).size;
        headers.range = `bytes=${resumeFrom}-`;
        headers['if-range'] = meta.etag;
      }
    }
    const ctrl = new AbortController();
    const wait = () => Math.max(1, Math.min(idle, deadline - Date.now()));
    let timer = setTimeout(() => ctrl.abort(), wait());
    const bump = () => {
      clearTimeout(timer);
      timer = setTimeout(() => ctrl.abort(), wait());
    };
    let tooBig = false;
    const bodyTooBig = () => {
      rmSync(part, { force: true });
      rmSync(partMeta, { force: true });
      return new CustomsError(`${url}: the body goes on past ${opts.maxBytes} bytes; refused`);
    };
    try {
      let res: Response;
      try {
        res = await fetch(url, { headers, signal: ctrl.signal, redirect: 'follow' });
      } catch (err) {
        throw new RetryableError(
          ctrl.signal.aborted ? `no answer within ${idle / 1000} s` : (err as Error).message,
        );
      }
      if (res.status === 304) {
        await res.body?.cancel();
        return {
          status: 'not-modified',
          file,
          etag: opts.etag,
          lastModified: opts.lastModified,
          bytes: statSync(file).size,
        };
      }
      if (res.status === 429 || res.status >= 500) {
        await res.body?.cancel();
        throw new RetryableError(`HTTP ${res.status} ${res.statusText}`, retryAfter(res));
      }
      if (res.status !== 200 && res.status !== 206) {
        await res.body?.cancel();
        throw new CustomsError(`${url}: HTTP ${res.status} ${res.statusText}`);
      }
      const etag = res.headers.get('etag') ?? undefined;
      const lastModified = res.headers.get('last-modified') ?? undefined;
      const append = res.status === 206 && resumeFrom > 0;
      if (!append) resumeFrom = 0;
      writeFileSync(partMeta, JSON.stringify({ url, etag }));
      const total = Number(res.headers.get('content-length') ?? NaN) + resumeFrom;
      const out = createWriteStream(part, { flags: append ? 'a' : 'w' });
      let received = resumeFrom;
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          bump();
          received += chunk.length;
          if (opts.maxBytes !== undefined && received > opts.maxBytes) {
            tooBig = true;
            ctrl.abort();
            break;
          }
          if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
          opts.onProgress?.(received, Number.isFinite(total) ? total : undefined);
        }
      } catch (err) {
        await new Promise<void>((r) => out.end(() => r()));
        // Our own abort at the byte bound: not a stall to retry (it was, and resumed past the bound).
        if (tooBig) throw bodyTooBig();
        if (Date.now() >= deadline) throw late();
        throw new RetryableError(
          ctrl.signal.aborted
            ? `stalled: no data for ${idle / 1000} s`
            : `connection lost (${(err as Error).message})`,
        );
      }
      await new Promise<void>((r) => out.end(() => r()));
      if (tooBig) throw bodyTooBig();
      if (Number.isFinite(total) && received !== total)
        throw new RetryableError(`got ${received} of ${total} bytes`);
      renameSync(part, file);
      rmSync(partMeta, { force: true });
      return { status: 'downloaded', file, etag, lastModified, bytes: received };
    } catch (err) {
      if (!(err instanceof RetryableError) || attempt >= retries) {
        throw err instanceof CustomsError ? err : new CustomsError(`${url}: ${(err as Error).message}`);
      }
      if (Date.now() + (err.waitMs ?? 0) >= deadline) throw late();
      await sleep(Math.min(err.waitMs ?? 500 * 2 ** attempt, Math.max(0, deadline - Date.now())));
    } finally {
      clearTimeout(timer);
    }
  }
}

class RetryableError extends Error {
  constructor(
    message: string,
    readonly waitMs?: number,
  ) {
    super(message);
  }
}

/** sha256 of a file's bytes (hex). */
export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
