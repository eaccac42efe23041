import { createReadStream, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import yauzl from 'yauzl';
import { CustomsError } from '../errors.js';

/** One file of an import: from a folder, from inside a zip, or the path itself. */
export interface InputFile {
  name: string;
  /** The path named this file itself (not a folder or zip): read it whatever its name. */
  explicit?: boolean;
  size: number;
  /** Where it is on disk (not for a zip's entries): a large feed is streamed from there. */
  path?: string;
  read(): Promise<Buffer>;
}

/** Files larger than this are refused (a feed file is tens of MB; a zip bomb is not). */
const MAX_FILE = 2 * 1024 ** 3;

function* walk(dir: string, root: string): Generator<InputFile> {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) yield* walk(p, root);
    else if (st.isFile()) yield { name: relative(root, p), size: st.size, path: p, read: () => readFile(p) };
  }
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(path, { lazyEntries: true, autoClose: false }, (err, zip) =>
      err ? reject(err) : resolve(zip!),
    ),
  );
}

async function* zipEntries(path: string): AsyncGenerator<InputFile> {
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(path);
  } catch (err) {
    throw new CustomsError(`not a readable zip archive (${(err as Error).message})`);
  }
  try {
    for (;;) {
      const entry = await new Promise<yauzl.Entry | null>((resolve, reject) => {
        const onEntry = (e: yauzl.Entry) => done(e);
        const onEnd = () => done(null);
        const onError = (err: Error) => {
          cleanup();
          reject(new CustomsError(`corrupt zip archive (${err.message})`));
        };
        const cleanup = () => {
          zip.off('entry', onEntry);
          zip.off('end', onEnd);
          zip.off('error', onError);
        };
        const done = (v: yauzl.Entry | null) => {
          cleanup();
          resolve(v);
        };
        zip.on('entry', onEntry);
        zip.on('end', onEnd);
        zip.on('error', onError);
        zip.readEntry();
      });
      if (!entry) return;
      if (entry.fileName.endsWith('/')) continue;
      if (entry.uncompressedSize > MAX_FILE)
        throw new CustomsError(`${entry.fileName} in the zip is too large`);
      yield {
        name: entry.fileName,
        size: entry.uncompressedSize,
        read: () =>
          new Promise<Buffer>((resolve, reject) => {
            zip.openReadStream(entry, (err, stream) => {
              if (err || !stream)
                return reject(new CustomsError(`corrupt zip entry ${entry.fileName} (${err?.message})`));
              const chunks: Buffer[] = [];
              stream.on('data', (c: Buffer) => chunks.push(c));
              stream.on('error', (e) =>
                reject(new CustomsError(`corrupt zip entry ${entry.fileName} (${e.message})`)),
              );
              stream.on('end', () => resolve(Buffer.concat(chunks)));
            });
          }),
      };
    }
  } finally {
    zip.close();
  }
}

async function isZip(path: string): Promise<boolean> {
  const head = await new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = [];
    createReadStream(path, { start: 0, end: 3 })
      .on('data', (c) => chunks.push(c as Buffer))
      .on('end', () => resolve(Buffer.concat(chunks)))
      .on('error', () => resolve(Buffer.alloc(0)));
  });
  return head.length === 4 && head.readUInt32LE(0) === 0x04034b50;
}

/** The files a path holds: a folder's files (recursively), a zip's entries, or the file itself. */
export async function* filesOf(path: string): AsyncGenerator<InputFile> {
  const st = statSync(path);
  if (st.isDirectory()) yield* walk(path, path);
  else if (await isZip(path)) yield* zipEntries(path);
  else
    yield { name: path.split('/').pop()!, size: st.size, explicit: true, path, read: () => readFile(path) };
}

/** Gunzip when the bytes are gzip (feeds such as EPSS are published compressed). */
export function maybeGunzip(buf: Buffer): Buffer {
  return buf.length > 2 && buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf) : buf;
}
