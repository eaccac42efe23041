import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';

/*
 * Large layer blobs on disk are hashed, and gzip ones also decompressed, by helper threads, so the
 * main thread only parses tar. Hashing and zlib's bookkeeping ran on the main thread beside the
 * parsing and were half of its time on a gzip image (a third on a plain docker-archive), while the
 * second core waited. A helper reads the file itself; decompressed bytes come back transferred
 * (each of zlib's output buffers whole, once full), a few at a time: the main thread grants
 * credit as it consumes, so a slow parse holds the helper instead of queueing the layer in
 * memory. Written here because no library does this one job.
 */
const WORKER = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { open } = require('node:fs/promises');
const { createGunzip } = require('node:zlib');
const jobs = new Map();
const post = (m, transfer) => parentPort.postMessage(m, transfer);
async function hashFile(m) {
  const hash = createHash('sha256');
  const fh = await open(m.path, 'r');
  let bytes = 0;
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let pos = m.start; pos < m.end; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, m.end - pos), pos);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
      bytes += bytesRead;
    }
  } finally {
    await fh.close();
  }
  post({ id: m.id, done: true, blobDigest: hash.digest('hex'), blobBytes: bytes });
}
async function gunzip(m) {
  const job = { credit: m.credit, aborted: false, wake: undefined };
  jobs.set(m.id, job);
  // 256 KiB: 1 MiB chunks were 5% faster but peaked 40 MiB higher (memory the allocator keeps).
  const CHUNK = 256 << 10;
  const gz = createGunzip({ chunkSize: CHUNK });
  job.stop = () => gz.destroy();
  const blobHash = createHash('sha256');
  const tarHash = createHash('sha256');
  let blobBytes = 0;
  let tarBytes = 0;
  // Resolves when zlib has taken the bytes, or rejects when it has been torn down (an error, an
  // abort): a write in progress then never calls back.
  const write = (part) =>
    new Promise((res, rej) => {
      if (gz.destroyed) return rej(new Error('stopped'));
      const stopped = () => rej(new Error('stopped'));
      gz.once('close', stopped);
      gz.write(part, (e) => {
        gz.off('close', stopped);
        e ? rej(e) : res();
      });
    });
  // The file is read into two buffers in turn, each reused once zlib has consumed it: no garbage
  // per read, and the next read overlaps the inflating of the last.
  const feed = (async () => {
    const fh = await open(m.path, 'r');
    const bufs = [Buffer.allocUnsafe(1 << 20), Buffer.allocUnsafe(1 << 20)];
    const writing = [undefined, undefined];
    try {
      for (let pos = m.start, i = 0; pos < m.end && !job.aborted; i ^= 1) {
        await writing[i];
        const { bytesRead } = await fh.read(bufs[i], 0, Math.min(bufs[i].length, m.end - pos), pos);
        if (bytesRead === 0) break;
        const part = bufs[i].subarray(0, bytesRead);
        blobHash.update(part);
        blobBytes += bytesRead;
        pos += bytesRead;
        writing[i] = write(part);
        writing[i].catch(() => undefined); // awaited in turn
      }
      await Promise.all(writing);
      gz.end();
    } finally {
      await Promise.allSettled(writing);
      await fh.close();
    }
  })();
  feed.catch((e) => gz.destroy(e));
  // zlib writes its output into a buffer of chunkSize, handing out each part it fills, and takes
  // a new buffer once one is full. The parts of one buffer are held until it is full (or the
  // stream ends) and the buffer is then handed over whole, transferred: nothing is copied, and
  // no buffer is left behind as garbage here. This thread makes almost no other garbage, so its
  // collector ran only on V8's external-memory limit (64 MB), and 60-90 MB of dead buffers stayed
  // resident in this thread's malloc arena (issue 28; docs/benchmarks.md).
  let held;
  const send = async () => {
    while (job.credit <= 0 && !job.aborted) await new Promise((r) => (job.wake = r));
    if (job.aborted) return;
    job.credit--;
    const out = new Uint8Array(held.buf, held.start, held.end - held.start);
    held = undefined;
    post({ id: m.id, chunk: out, raw: blobBytes }, [out.buffer]);
  };
  try {
    for await (const chunk of gz) {
      tarHash.update(chunk);
      tarBytes += chunk.length;
      if (held && !(chunk.buffer === held.buf && chunk.byteOffset === held.end)) await send();
      if (job.aborted) break;
      if (chunk.buffer.byteLength !== CHUNK) {
        // Not one of zlib's own buffers (never seen): a copy, so no shared memory is moved.
        held = { buf: Uint8Array.prototype.slice.call(chunk).buffer, start: 0, end: chunk.byteLength };
        await send();
      } else if (held) held.end += chunk.byteLength;
      else held = { buf: chunk.buffer, start: chunk.byteOffset, end: chunk.byteOffset + chunk.byteLength };
      if (held && held.end === held.buf.byteLength) await send();
      if (job.aborted) break;
    }
    if (held && !job.aborted) await send();
    if (!job.aborted) {
      await feed;
      post({ id: m.id, done: true, blobDigest: blobHash.digest('hex'), tarDigest: tarHash.digest('hex'), blobBytes, tarBytes });
    }
  } finally {
    job.aborted = true;
    gz.destroy();
    jobs.delete(m.id);
  }
}
parentPort.on('message', (m) => {
  if (m.op === 'file' || m.op === 'gunzip') {
    (m.op === 'file' ? hashFile(m) : gunzip(m)).catch((err) =>
      post({ id: m.id, error: String((err && err.message) || err), code: err && err.code }),
    );
    return;
  }
  const job = jobs.get(m.id);
  if (!job) return;
  if (m.op === 'credit') job.credit += m.n;
  else if (m.op === 'abort') { job.aborted = true; job.stop(); }
  const wake = job.wake;
  job.wake = undefined;
  wake && wake();
});
`;

/** Blobs smaller than this stay on the main thread: starting a thread (~30 ms) would cost more. */
export const OFF_THREAD_MIN_BYTES = 16 * 1024 * 1024;
/** Decompressed chunks (of up to 256 KiB) a helper may send ahead of the parse. */
const CREDIT = 32;
/** One helper per layer in flight (layout.ts reads two at a time). */
const POOL_SIZE = 2;
/**
 * A helper idle this long is ended: its isolate stayed resident through cataloguing and the
 * report, where a scan peaks (about 20 MiB of the gzip app-shaped image's peak, docs/benchmarks.md).
 * Long enough for the next layer read to reuse a helper; a new one costs ~30 ms.
 */
const IDLE_MS = 100;

/**
 * Decompressed bytes handed over to this thread between two forced minor collections.
 * The chunks arrive as transferred buffers outside V8's heap; once parsed they are dead, but their
 * memory is freed only by a collection, and on a layer whose entries are skipped (issue 28's
 * random blobs) this thread makes too little garbage to run one before V8's external-memory limit
 * (64 MB): the gzip app-shaped image peaked at 232-267 MiB. A minor collection (a scavenge: the
 * buffers die young) after every 16 MiB received keeps at most ~16 MiB of them alive. Bounding the
 * chunks in flight does not help (they are released only by a collection), and handing buffers
 * back for reuse needs to know when tar-stream and the probes are done with a chunk's bytes, which
 * they do not say (docs/benchmarks.md).
 */
const COLLECT_EVERY_BYTES = 16 << 20;
let receivedSinceCollect = 0;

/**
 * V8's `gc`, obtained at run time without a start flag: exposed only while one new context is
 * created, then turned back off (no other context sees it). Null where V8 refuses.
 */
let collector: ((opts: { type: 'minor' }) => void) | null | undefined;
function collect(): ((opts: { type: 'minor' }) => void) | null {
  if (collector !== undefined) return collector;
  // Started with --expose-gc (a test, a profile): that one, and the flag left as it was.
  const exposed: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return (collector = exposed as (opts: { type: 'minor' }) => void);
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    collector = typeof gc === 'function' ? (gc as (opts: { type: 'minor' }) => void) : null;
  } catch {
    collector = null;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  return collector;
}

/** Counts decompressed bytes received; scavenges every COLLECT_EVERY_BYTES. */
function received(bytes: number): void {
  receivedSinceCollect += bytes;
  if (receivedSinceCollect < COLLECT_EVERY_BYTES) return;
  receivedSinceCollect = 0;
  collect()?.({ type: 'minor' });
}

export interface BlobDigests {
  blobDigest: string;
  /** Absent for a plain hash of a file range. */
  tarDigest?: string;
  blobBytes: number;
  tarBytes?: number;
}

interface Message {
  id: number;
  chunk?: Uint8Array;
  raw?: number;
  done?: boolean;
  blobDigest?: string;
  tarDigest?: string;
  blobBytes?: number;
  tarBytes?: number;
  error?: string;
  code?: string;
}

interface Helper {
  worker: Worker;
  jobs: Map<number, (m: Message) => void>;
  idle?: NodeJS.Timeout;
}

const helpers: Helper[] = [];
let nextId = 1;

function helper(): Helper {
  // The least busy helper, a new one while the pool is not full.
  const idle = helpers.find((h) => h.jobs.size === 0);
  if (idle) {
    clearTimeout(idle.idle);
    return idle;
  }
  if (helpers.length >= POOL_SIZE) return helpers.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
  const h: Helper = {
    worker: new Worker(WORKER, { eval: true, stdout: false, stderr: false }),
    jobs: new Map(),
  };
  h.worker.on('message', (m: Message) => {
    const on = h.jobs.get(m.id);
    if (!on) return;
    if (m.done || m.error) {
      h.jobs.delete(m.id);
      if (h.jobs.size === 0) idled(h);
    }
    on(m);
  });
  const fail = (err: Error) => {
    forget(h);
    for (const on of h.jobs.values()) on({ id: 0, error: err.message });
    h.jobs.clear();
  };
  h.worker.on('error', fail);
  h.worker.on('exit', (code) => fail(new Error(`the layer helper thread exited (${code})`)));
  h.worker.unref();
  helpers.push(h);
  return h;
}

/** Out of the pool, once: a failing worker reports an error, then its exit. */
function forget(h: Helper): void {
  clearTimeout(h.idle);
  const at = helpers.indexOf(h);
  if (at >= 0) helpers.splice(at, 1);
}

/** A helper without jobs no longer holds the process open, and is ended if it stays idle. */
function idled(h: Helper): void {
  h.worker.unref();
  clearTimeout(h.idle);
  h.idle = setTimeout(() => {
    if (h.jobs.size > 0) return;
    forget(h);
    void h.worker.terminate();
  }, IDLE_MS);
  h.idle.unref();
}

function begin(op: object, on: (m: Message) => void): { h: Helper; id: number } {
  const h = helper();
  const id = nextId++;
  h.jobs.set(id, on);
  h.worker.ref();
  h.worker.postMessage({ ...op, id });
  return { h, id };
}

const hex = (m: Message, key: 'blobDigest' | 'tarDigest') => (m[key] ? `sha256:${m[key]}` : undefined);
const failure = (m: Message) => Object.assign(new Error(m.error), { code: m.code });

/** sha256 of bytes [start, end) of a file, on a helper thread. */
export function hashFileRange(path: string, start: number, end: number): Promise<BlobDigests> {
  return new Promise((resolve, reject) => {
    begin({ op: 'file', path, start, end }, (m) =>
      m.error ? reject(failure(m)) : resolve({ blobDigest: hex(m, 'blobDigest')!, blobBytes: m.blobBytes! }),
    );
  });
}

/**
 * The decompressed bytes of a gzip blob lying at [start, end) of a file, decompressed and hashed
 * (both ways) on a helper thread. `onRaw` hears the compressed bytes read so far (for the
 * decompression-bomb ratio and the progress display); `digests` settles once the stream has ended
 * or failed.
 */
export function gunzipFileRange(
  path: string,
  range: { start: number; end: number },
  onRaw: (total: number) => void,
): { stream: Readable; digests: Promise<BlobDigests> } {
  let owed = 0;
  let settled = false;
  let resolve!: (d: BlobDigests) => void;
  let reject!: (e: Error) => void;
  const digests = new Promise<BlobDigests>((res, rej) => ((resolve = res), (reject = rej)));
  digests.catch(() => undefined); // the stream carries the error too
  // Messages arrive on later turns of the event loop: `stream` exists by then.
  const job = begin({ op: 'gunzip', path, start: range.start, end: range.end, credit: CREDIT }, (m) => {
    if (m.chunk) {
      received(m.chunk.byteLength);
      onRaw(m.raw!);
      const more = stream.push(Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength));
      if (more) job.h.worker.postMessage({ op: 'credit', id: job.id, n: 1 });
      else owed++;
    } else if (m.done) {
      settled = true;
      onRaw(m.blobBytes!);
      resolve({
        blobDigest: hex(m, 'blobDigest')!,
        tarDigest: hex(m, 'tarDigest'),
        blobBytes: m.blobBytes!,
        tarBytes: m.tarBytes,
      });
      stream.push(null);
    } else if (m.error) {
      settled = true;
      const e = failure(m);
      reject(e);
      stream.destroy(e);
    }
  });
  const stream = new Readable({
    read() {
      if (owed > 0 && !settled) {
        job.h.worker.postMessage({ op: 'credit', id: job.id, n: owed });
        owed = 0;
      }
    },
    destroy(err, cb) {
      if (!settled) {
        settled = true;
        job.h.worker.postMessage({ op: 'abort', id: job.id });
        job.h.jobs.delete(job.id);
        if (job.h.jobs.size === 0) idled(job.h);
        reject(err ?? new Error('the read was stopped'));
      }
      cb(err);
    },
  });
  return { stream, digests };
}
