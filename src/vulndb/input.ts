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
  /** The whole content, at most MAX_DOCUMENT bytes (more is a CustomsError naming the file). */
  read(): Promise<Buffer>;
}

/**
 * The largest document read whole into memory (and then parsed whole): a JSON document's objects
 * take several times its text, so this keeps `db import` of any one file well inside 512 MiB.
 * Real feed files are far below it (an OSV record is kilobytes, a CSAF VEX file a few MB); the
 * large ones are streamed instead: NVD's years (import.ts) and documents whose top level is one
 * entry per package (the Debian tracker).
 */
export const MAX_DOCUMENT = 32 * 1024 ** 2;
/** A zip's entries together (uncompressed), and how many: a zip bomb ends here, not at the disk. */
const MAX_ZIP_TOTAL = 8 * 1024 ** 3;
const MAX_ZIP_ENTRIES = 2_000_000;

/** A file refused by a bound: the import goes on with the other files. */
export class TooLargeError extends CustomsError {}

const tooLarge = (name: string, max = MAX_DOCUMENT) =>
  new TooLargeError(
    `${name} is larger than ${max / 1024 ** 2} MiB; refused (no feed document is that large)`,
  );

async function readWhole(p: string, name: string): Promise<Buffer> {
  if (statSync(p).size > MAX_DOCUMENT) throw tooLarge(name);
  return readFile(p);
}

function* walk(dir: string, root: string): Generator<InputFile> {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    const rel = relative(root, p);
    if (st.isDirectory()) yield* walk(p, root);
    else if (st.isFile()) yield { name: rel, size: st.size, path: p, read: () => readWhole(p, rel) };
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
  let total = 0;
  let count = 0;
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
      if (++count > MAX_ZIP_ENTRIES)
        throw new CustomsError(`the zip holds more than ${MAX_ZIP_ENTRIES} entries; refused`);
      if (entry.fileName.endsWith('/')) continue;
      const name = entry.fileName;
      yield {
        name,
        size: entry.uncompressedSize,
        read: () =>
          new Promise<Buffer>((resolve, reject) => {
            // The sizes in the zip's directory are the zip's word: the bytes inflated are counted.
            if (entry.uncompressedSize > MAX_DOCUMENT) return reject(tooLarge(`${name} in the zip`));
            zip.openReadStream(entry, (err, stream) => {
              if (err || !stream)
                return reject(new CustomsError(`corrupt zip entry ${name} (${err?.message})`));
              const chunks: Buffer[] = [];
              let n = 0;
              stream.on('data', (c: Buffer) => {
                n += c.length;
                total += c.length;
                if (n > MAX_DOCUMENT) {
                  stream.destroy();
                  return reject(tooLarge(`${name} in the zip`));
                }
                if (total > MAX_ZIP_TOTAL) {
                  stream.destroy();
                  return reject(
                    new CustomsError(
                      `the zip inflates past ${MAX_ZIP_TOTAL / 1024 ** 3} GiB (at ${name}); refused`,
                    ),
                  );
                }
                chunks.push(c);
              });
              stream.on('error', (e) => reject(new CustomsError(`corrupt zip entry ${name} (${e.message})`)));
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
  else {
    const name = path.split('/').pop()!;
    yield { name, size: st.size, explicit: true, path, read: () => readWhole(path, name) };
  }
}

/**
 * Gunzip when the bytes are gzip (feeds such as EPSS are published compressed), at most `max`
 * bytes of output: a gzip bomb is refused naming the file, before it is inflated.
 */
export function maybeGunzip(buf: Buffer, name = 'the file', max = MAX_DOCUMENT): Buffer {
  if (!(buf.length > 2 && buf[0] === 0x1f && buf[1] === 0x8b)) return buf;
  try {
    return gunzipSync(buf, { maxOutputLength: max });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new TooLargeError(`${name} inflates past ${max / 1024 ** 2} MiB; refused (a gzip bomb?)`);
    throw new CustomsError(`${name} is not valid gzip (${(err as Error).message})`);
  }
}
