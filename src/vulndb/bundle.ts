import Database from 'better-sqlite3';
import { createHash, type KeyObject } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { CustomsError } from '../errors.js';
import { decompressor } from '../image/compression.js';
import { contentDigest, tableCounts } from './delta.js';
import { keyId, signBytes, verifySignatures, type Signature } from './signing.js';
import { SCHEMA_VERSION, VulnStore } from './store.js';
import { CompressStream } from 'zstd-napi';

/**
 * A database bundle: a zstd-compressed tar of `manifest.json`, `signatures.json` (ed25519
 * signatures over the manifest's exact bytes) and the payload: the whole SQLite database (kind
 * `full`) or a delta from one version to the next (kind `delta`, see delta.ts). The manifest names
 * the payload's sha256, so one signature covers all of it. The same file is what `db export`
 * writes for an air-gapped site and what `db publish` pushes as an OCI artifact's layer.
 */
export const BUNDLE_FORMAT = 'customs-db';
export const BUNDLE_FORMAT_VERSION = 2;
const MAX_MANIFEST = 1024 * 1024;
/**
 * A bundle expands at most this many times its file size (a compacted database compresses about
 * 8x; a zstd bomb of zeros, thousands of times), and never past the free space where it lands.
 */
const MAX_RATIO = 100;
const RATIO_FLOOR = 64 * 1024 * 1024;
/** How long a signed bundle stays acceptable when the publisher says nothing (--expires). */
export const DEFAULT_EXPIRY_MS = 7 * 86_400_000;

export interface SourceSummary {
  name: string;
  records: number;
  updatedAt?: string;
  status: string;
  error?: string;
}

export interface DbManifest {
  format: typeof BUNDLE_FORMAT;
  formatVersion: number;
  kind: 'full' | 'delta';
  /** The database schema the payload has (a delta: both ends have it). */
  schemaVersion: number;
  /** The database version: its build time (of the delta's result, for a delta). */
  version: string;
  /** A delta's starting version. */
  baseVersion?: string;
  /**
   * Until when a client accepts this signature (ISO time): a mirror that keeps serving the same
   * old bundle (a freeze) is refused once it passes. Missing only in bundles of older versions.
   */
  expires?: string;
  sources: SourceSummary[];
  /** Rows per content table, and the digest of the logical content, of the (resulting) database. */
  tables: Record<string, number>;
  contentDigest: string;
  payload: { name: string; size: number; sha256: string };
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

/** `7d`, `12h`, `30m`, `90s` (or plain seconds) as milliseconds. */
export function parseDuration(text: string, flag = '--expires'): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw]?)$/i.exec(text.trim());
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[(m?.[2] ?? '').toLowerCase() as 's'];
  const ms = m ? Number(m[1]) * unit * 1000 : NaN;
  if (!(ms > 0)) throw new CustomsError(`${flag} must be a duration such as 7d, 12h or 90m (got "${text}")`);
  return ms;
}

/**
 * Describe a finished database file as a full bundle's manifest, its signature to expire
 * `expiresMs` from now (the time it is signed; for `db build`, its build).
 */
export async function fullManifest(dbPath: string, expiresMs = DEFAULT_EXPIRY_MS): Promise<DbManifest> {
  const store = VulnStore.openRead(dbPath);
  try {
    const version = store.meta('built_at');
    if (!version)
      throw new CustomsError(`the database at ${dbPath} has no build time; import or update it first`);
    return {
      format: BUNDLE_FORMAT,
      formatVersion: BUNDLE_FORMAT_VERSION,
      kind: 'full',
      schemaVersion: SCHEMA_VERSION,
      version,
      expires: new Date(Date.now() + expiresMs).toISOString(),
      sources: summarizeSources(store),
      tables: tableCounts(store.db),
      contentDigest: contentDigest(store.db),
      payload: { name: 'customs.db', size: statSync(dbPath).size, sha256: await sha256File(dbPath) },
    };
  } finally {
    store.close();
  }
}

export function summarizeSources(store: VulnStore): SourceSummary[] {
  return store.sources().map((s) => ({
    name: s.name,
    records: s.records,
    updatedAt: s.updatedAt,
    status: s.status,
    ...(s.error ? { error: s.error } : {}),
  }));
}

/** Write a bundle, signed with each key given. The manifest's bytes are what a signature covers. */
export async function writeBundle(
  out: string,
  manifest: DbManifest,
  payloadFile: string,
  signatures: Signature[] = [],
  keys: KeyObject[] = [],
  /** The manifest's bytes as read: kept so that the signatures already over them still hold. */
  bytes?: Buffer,
): Promise<{ manifestBytes: Buffer; signatures: Signature[] }> {
  const manifestBytes = bytes ?? Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
  const ids = new Set(keys.map(keyId));
  const sigs = [
    ...signatures.filter((s) => !ids.has(s.keyId)),
    ...keys.map((k) => signBytes(manifestBytes, k)),
  ];
  const pack = tar.pack();
  const tmp = `${out}.tmp-${process.pid}`;
  const writing = pipeline(
    pack as unknown as Readable,
    new CompressStream({ compressionLevel: 9 }),
    createWriteStream(tmp),
  );
  pack.entry({ name: 'manifest.json', size: manifestBytes.length, mtime: new Date(0) }, manifestBytes);
  if (sigs.length) {
    const s = Buffer.from(JSON.stringify(sigs, null, 2) + '\n');
    pack.entry({ name: 'signatures.json', size: s.length, mtime: new Date(0) }, s);
  }
  await new Promise<void>((resolve, reject) => {
    const entry = pack.entry(
      { name: manifest.payload.name, size: manifest.payload.size, mtime: new Date(0) },
      (err) => (err ? reject(err) : resolve()),
    );
    createReadStream(payloadFile).pipe(entry as unknown as NodeJS.WritableStream);
  });
  pack.finalize();
  try {
    await writing;
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
  }
  return { manifestBytes, signatures: sigs };
}

export interface ReadBundle {
  manifest: DbManifest;
  manifestBytes: Buffer;
  signatures: Signature[];
  /** The trusted key that signed it, when keys were given. */
  signedBy?: string;
}

function checkManifest(m: DbManifest, what: string): void {
  if (m?.format !== BUNDLE_FORMAT) throw new CustomsError(`${what} is not a Customs database bundle`);
  if (m.formatVersion !== BUNDLE_FORMAT_VERSION)
    throw new CustomsError(
      `${what} has bundle format ${m.formatVersion}; this Customs reads ${BUNDLE_FORMAT_VERSION}`,
    );
  if (m.schemaVersion !== SCHEMA_VERSION)
    throw new CustomsError(
      `${what} holds database schema ${m.schemaVersion}; this Customs needs ${SCHEMA_VERSION} (update Customs, or use the repository tag :${SCHEMA_VERSION})`,
    );
  if (m.kind !== 'full' && m.kind !== 'delta') throw new CustomsError(`${what} is of unknown kind ${m.kind}`);
  if (
    !m.payload ||
    !/^[a-f0-9]{64}$/.test(m.payload.sha256) ||
    !/^[a-z]+\.db$/.test(m.payload.name) ||
    !Number.isSafeInteger(m.payload.size) ||
    m.payload.size < 0
  )
    throw new CustomsError(`${what}: its manifest names no valid payload`);
  if (typeof m.version !== 'string' || Number.isNaN(Date.parse(m.version)))
    throw new CustomsError(`${what}: its manifest has no valid version`);
  if (m.expires !== undefined && (typeof m.expires !== 'string' || Number.isNaN(Date.parse(m.expires))))
    throw new CustomsError(`${what}: its manifest has an unreadable expiry`);
}

/**
 * A signature is only as good as its expiry: past it, the bundle is refused like a tampered one
 * (a mirror serving the same old signed database forever is a freeze attack). Signed bundles of
 * Customs before expiries existed carry none and are refused too: re-sign them (db publish).
 */
export function checkExpiry(m: DbManifest, what: string, now = Date.now()): void {
  if (!m.expires)
    throw new CustomsError(
      `${what} is signed without an expiry (made by an older Customs); refused: publish it again with this version (db publish --expires)`,
    );
  const t = Date.parse(m.expires);
  if (t <= now)
    throw new CustomsError(
      `${what}: its signature expired at ${m.expires} (${Math.max(1, Math.floor((now - t) / 86_400_000))} day(s) ago, version ${m.version}): the repository serves a frozen database; refused`,
    );
}

export interface ReadOptions {
  /**
   * Called with the signed (or, without keys, unsigned) manifest once it is verified and before a
   * byte of payload is written: throwing refuses the bundle (a rollback to an older version).
   */
  accept?: (m: DbManifest) => void;
}

/** Ends the stream once more than `limit()` bytes went through (the limit may tighten midway). */
function byteLimit(limit: () => { bytes: number; why: string }): Transform {
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      const l = limit();
      if (n > l.bytes) return cb(new CustomsError(l.why));
      cb(null, chunk);
    },
  });
}

/**
 * Read a bundle: check its manifest (format, schema major), its signature and expiry when `keys`
 * are given (before a byte of payload is written), and the payload's size and sha256 while it is
 * written to `payloadOut`. Decompression is bounded: zstd one output buffer at a time (the image
 * reader's decoder), at most MAX_RATIO times the file's size, the manifest first and nothing but
 * its signatures and payload after it, and not a byte past the payload size the manifest names.
 * Anything wrong is a CustomsError and `payloadOut` is removed.
 */
export async function readBundle(
  file: string,
  payloadOut: string,
  keys: Map<string, KeyObject> | undefined,
  what = 'the database bundle',
  opts: ReadOptions = {},
): Promise<ReadBundle> {
  let manifest: DbManifest | undefined;
  let manifestBytes: Buffer | undefined;
  let signatures: Signature[] = [];
  let signedBy: string | undefined;
  let payload: { sha256: string; size: number } | undefined;
  const fileSize = statSync(file).size;
  const ratioMax = Math.max(RATIO_FLOOR, fileSize * MAX_RATIO);
  const extract = tar.extract();
  const reading = pipeline(
    createReadStream(file),
    decompressor('zstd')!,
    // Until the manifest is read only it and its signatures may come; then its payload and tar's
    // own headers and padding.
    byteLimit(() =>
      !manifest
        ? { bytes: 4 * MAX_MANIFEST, why: `${what}: no manifest in its first ${4 * MAX_MANIFEST} bytes` }
        : manifest.payload.size + 4 * MAX_MANIFEST > ratioMax
          ? {
              bytes: ratioMax,
              why: `${what} expands more than ${MAX_RATIO}x its ${fileSize} bytes: refusing a possible decompression bomb`,
            }
          : {
              bytes: manifest.payload.size + 4 * MAX_MANIFEST,
              why: `${what}: its payload is larger than its manifest says`,
            },
    ),
    extract as unknown as NodeJS.WritableStream,
  ).catch((e: unknown) => e);
  const small = async (entry: Readable, name: string) => {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of entry) {
      n += (c as Buffer).length;
      if (n > MAX_MANIFEST) throw new CustomsError(`${what}: ${name} is larger than ${MAX_MANIFEST} bytes`);
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
  };
  try {
    for await (const entry of extract) {
      const name = entry.header.name;
      if (!manifest) {
        if (name !== 'manifest.json')
          throw new CustomsError(
            `${what} is not a Customs database bundle (its first entry is not the manifest)`,
          );
        manifestBytes = await small(entry as unknown as Readable, name);
        let m: DbManifest;
        try {
          m = JSON.parse(manifestBytes.toString('utf8')) as DbManifest;
        } catch {
          throw new CustomsError(`${what}: its manifest is not valid JSON`);
        }
        checkManifest(m, what);
        manifest = m;
      } else if (name === 'signatures.json' && !payload) {
        try {
          signatures = JSON.parse(
            (await small(entry as unknown as Readable, name)).toString('utf8'),
          ) as Signature[];
        } catch (err) {
          if (err instanceof CustomsError) throw err;
          throw new CustomsError(`${what}: its signatures are not valid JSON`);
        }
      } else if (name === manifest.payload.name && !payload) {
        if (keys) {
          signedBy = verifySignatures(manifestBytes!, signatures, keys, what);
          checkExpiry(manifest, what);
        }
        opts.accept?.(manifest);
        if (manifest.payload.size > ratioMax)
          throw new CustomsError(
            `${what}: its manifest says the payload is ${manifest.payload.size} bytes, more than ${MAX_RATIO}x the bundle's ${fileSize}: refusing a possible decompression bomb`,
          );
        const free = freeBytes(dirname(payloadOut));
        if (free !== undefined && manifest.payload.size > free)
          throw new CustomsError(
            `${what}: its payload is ${manifest.payload.size} bytes, more than the ${free} bytes free in ${dirname(payloadOut)}`,
          );
        const h = createHash('sha256');
        let size = 0;
        const declared = manifest.payload.size;
        const tap = new Transform({
          transform(c: Buffer, _enc, cb) {
            size += c.length;
            if (size > declared)
              return cb(new CustomsError(`${what}: the payload is larger than its manifest says`));
            h.update(c);
            cb(null, c);
          },
        });
        await pipeline(entry as unknown as Readable, tap, createWriteStream(payloadOut));
        payload = { sha256: h.digest('hex'), size };
      } else {
        throw new CustomsError(`${what} holds an unexpected entry ${JSON.stringify(name.slice(0, 100))}`);
      }
    }
    const err = await reading;
    if (err instanceof CustomsError) throw err;
    if (err) throw new CustomsError(`${what} is corrupt or truncated (${(err as Error).message})`);
    if (!manifest) throw new CustomsError(`${what} has no manifest`);
    if (!payload) throw new CustomsError(`${what} holds no ${manifest.payload.name}`);
    if (payload.sha256 !== manifest.payload.sha256 || payload.size !== manifest.payload.size)
      throw new CustomsError(
        `${what}: checksum mismatch: the manifest says ${manifest.payload.sha256} (${manifest.payload.size} bytes), the payload is ${payload.sha256} (${payload.size} bytes); refused`,
      );
    return { manifest, manifestBytes: manifestBytes!, signatures, signedBy };
  } catch (err) {
    extract.destroy();
    const inner = await reading;
    rmSync(payloadOut, { force: true });
    // The limit's own message says more than the tar reader's "premature close".
    if (inner instanceof CustomsError) throw inner;
    throw err instanceof CustomsError
      ? err
      : new CustomsError(`${what} is corrupt or truncated (${(err as Error).message})`);
  }
}

function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/**
 * The database as it ships: compacted (VACUUM INTO: no free pages, no journal), without the
 * builder's own `local.*` meta keys.
 */
export function compactCopy(dbPath: string, out: string): void {
  rmSync(out, { force: true });
  VulnStore.openRead(dbPath).close(); // a clear error for a missing or foreign file
  const src = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    src.prepare('VACUUM INTO ?').run(out);
  } finally {
    src.close();
  }
  const db = new Database(out);
  try {
    db.prepare("DELETE FROM meta WHERE key LIKE 'local.%'").run();
  } finally {
    db.close();
  }
}

/**
 * Record where a database came from and until when its signature holds, in the client-only meta
 * keys (they never travel in deltas).
 */
export function markOrigin(dbFile: string, origin: string, expires?: string): void {
  const db = new Database(dbFile);
  try {
    const put = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    put.run('local.origin', origin);
    put.run('local.installed_at', new Date().toISOString());
    if (expires) put.run('local.expires', expires);
    else db.prepare("DELETE FROM meta WHERE key = 'local.expires'").run();
  } finally {
    db.close();
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
