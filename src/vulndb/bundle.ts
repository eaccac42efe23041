import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { CompressStream, DecompressStream } from 'zstd-napi';
import { CustomsError } from '../errors.js';
import { lock, SCHEMA_VERSION, VulnStore } from './store.js';

/**
 * An air-gap bundle: a zstd-compressed tar holding `manifest.json` (format, schema version, build
 * time, and the sha256 of each file) followed by the database file itself.
 */
export const BUNDLE_FORMAT = 'customs-db-bundle';
const DB_NAME = 'customs.db';

interface Manifest {
  format: string;
  formatVersion: number;
  schemaVersion: number;
  builtAt?: string;
  files: Array<{ name: string; size: number; sha256: string }>;
}

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

export async function exportBundle(dbPath: string, out: string): Promise<Manifest> {
  const store = VulnStore.openRead(dbPath);
  const builtAt = store.meta('built_at');
  store.close();
  const manifest: Manifest = {
    format: BUNDLE_FORMAT,
    formatVersion: 1,
    schemaVersion: SCHEMA_VERSION,
    builtAt,
    files: [{ name: DB_NAME, size: statSync(dbPath).size, sha256: await sha256Of(dbPath) }],
  };
  const pack = tar.pack();
  const tmp = `${out}.tmp-${process.pid}`;
  const writing = pipeline(
    pack as unknown as Readable,
    new CompressStream({ compressionLevel: 9 }),
    createWriteStream(tmp),
  );
  const body = Buffer.from(JSON.stringify(manifest, null, 2));
  pack.entry({ name: 'manifest.json', size: body.length, mtime: new Date(0) }, body);
  await new Promise<void>((resolve, reject) => {
    const entry = pack.entry({ name: DB_NAME, size: manifest.files[0].size, mtime: new Date(0) }, (err) =>
      err ? reject(err) : resolve(),
    );
    createReadStream(dbPath).pipe(entry as unknown as NodeJS.WritableStream);
  });
  pack.finalize();
  try {
    await writing;
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
  }
  return manifest;
}

/** Verify a bundle's manifest and checksums, then install its database in one rename. */
export async function importBundle(path: string, dbPath: string): Promise<Manifest> {
  mkdirSync(dirname(dbPath), { recursive: true });
  const release = lock(dbPath);
  const tmp = `${dbPath}.bundle-${process.pid}`;
  let manifest: Manifest | undefined;
  let dbHash = '';
  let dbSize = 0;
  const extract = tar.extract();
  const reading = pipeline(
    createReadStream(path),
    new DecompressStream(),
    extract as unknown as NodeJS.WritableStream,
  ).catch((e: unknown) => e);
  try {
    for await (const entry of extract) {
      const name = entry.header.name;
      if (name === 'manifest.json') {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        try {
          manifest = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Manifest;
        } catch {
          throw new CustomsError('bundle manifest is not valid JSON');
        }
        if (manifest.format !== BUNDLE_FORMAT) throw new CustomsError('not a Customs database bundle');
        if (manifest.schemaVersion !== SCHEMA_VERSION) {
          throw new CustomsError(
            `bundle has database schema ${manifest.schemaVersion}; this Customs needs ${SCHEMA_VERSION}`,
          );
        }
      } else if (name === DB_NAME) {
        if (!manifest) throw new CustomsError('bundle has no manifest before its database');
        const h = createHash('sha256');
        const tap = new PassThrough();
        tap.on('data', (c: Buffer) => {
          h.update(c);
          dbSize += c.length;
        });
        await pipeline(entry as unknown as Readable, tap, createWriteStream(tmp));
        dbHash = h.digest('hex');
      } else {
        entry.resume();
      }
    }
    const err = await reading;
    if (err) throw new CustomsError(`bundle is corrupt or truncated (${(err as Error).message})`);
    const want = manifest?.files.find((f) => f.name === DB_NAME);
    if (!manifest || !want) throw new CustomsError('bundle holds no database');
    if (want.sha256 !== dbHash || want.size !== dbSize) {
      throw new CustomsError(
        `bundle checksum mismatch: the manifest says ${want.sha256} (${want.size} bytes), the database is ${dbHash} (${dbSize} bytes)`,
      );
    }
    VulnStore.openRead(tmp).close(); // it opens and has the right schema
    renameSync(tmp, dbPath);
    return manifest;
  } catch (err) {
    await reading;
    throw err instanceof CustomsError
      ? err
      : new CustomsError(`bundle is corrupt or truncated (${(err as Error).message})`);
  } finally {
    rmSync(tmp, { force: true });
    release();
  }
}

/** zstd magic at the start of a file: a bundle candidate (its manifest decides). */
export function isZstdFile(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    const head = Buffer.alloc(4);
    readSync(fd, head, 0, 4, 0);
    closeSync(fd);
    return head.readUInt32LE(0) === 0xfd2fb528;
  } catch {
    return false;
  }
}
