import { Worker } from 'node:worker_threads';

/**
 * SHA-256 of large uncompressed layer blobs on a second thread, reading the file itself. Hashing
 * ran on the main thread beside the tar parsing and was a third of a scan of a plain
 * docker-archive (two cores: the other one sat idle when no layer needed gunzip). Compressed
 * layers are hashed on the main thread still: their gunzip keeps the second core busy, and sending
 * copies of the decompressed bytes here cost more CPU and memory than it saved (measured on the
 * gzip OCI layout of the app-shaped bench image).
 */
const WORKER = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { open } = require('node:fs/promises');
parentPort.on('message', async (m) => {
  try {
    if (m.op === 'file') {
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
      parentPort.postMessage({ id: m.id, digest: hash.digest('hex'), bytes });
    }
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String((err && err.message) || err) });
  }
});
`;

/** Layers smaller than this are hashed inline: starting the thread (~30 ms) would cost more. */
export const OFF_THREAD_MIN_BYTES = 16 * 1024 * 1024;

interface Waiter {
  resolve(r: { digest: string; bytes: number }): void;
  reject(e: Error): void;
}

let worker: Worker | undefined;
const waiters = new Map<number, Waiter>();
let nextId = 1;

function pool(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER, { eval: true, stdout: false, stderr: false });
  w.on('message', (m: { id: number; digest?: string; bytes?: number; error?: string }) => {
    const waiter = waiters.get(m.id);
    if (!waiter) return;
    waiters.delete(m.id);
    if (waiters.size === 0) w.unref();
    if (m.error) waiter.reject(new Error(`hashing failed: ${m.error}`));
    else waiter.resolve({ digest: 'sha256:' + m.digest!, bytes: m.bytes! });
  });
  const fail = (err: Error) => {
    worker = undefined;
    for (const w of waiters.values()) w.reject(err);
    waiters.clear();
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`the hashing thread exited (${code})`)));
  w.unref();
  return (worker = w);
}

/** sha256 of bytes [start, end) of a file, on the hashing thread. */
export function hashFileRange(
  path: string,
  start: number,
  end: number,
): Promise<{ digest: string; bytes: number }> {
  const w = pool();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiters.set(id, { resolve, reject });
    w.ref();
    w.postMessage({ op: 'file', id, path, start, end });
  });
}
