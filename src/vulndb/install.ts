import Database from 'better-sqlite3';
import { createHash, type KeyObject } from 'node:crypto';
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { userConfig } from '../config.js';
import { CustomsError } from '../errors.js';
import { progressBytes } from '../progress.js';
import { setStage } from '../stage.js';
import { RegistryClient, type RegistryOptions } from '../image/registry/client.js';
import { parseReference, type ImageReference } from '../image/registry/reference.js';
import { markOrigin, readBundle, type DbManifest } from './bundle.js';
import { applyDelta, contentDigest } from './delta.js';
import { download } from './download.js';
import { lockWait, removeStale, SCHEMA_VERSION, VulnStore } from './store.js';

/**
 * The client side of database delivery: install a signed bundle from a file, an HTTPS URL or an
 * OCI repository, by the chain of deltas from the local version when that is smaller than the
 * whole database. Everything lands in a private file beside the database and replaces it in one
 * rename after every check passed, so a refused or interrupted update leaves the old one in use.
 */

export const ARTIFACT_TYPE = 'application/vnd.customs.db.v1';
export const CONFIG_MEDIA_TYPE = 'application/vnd.customs.db.config.v1+json';
export const FULL_MEDIA_TYPE = 'application/vnd.customs.db.full.v1.tar+zstd';
export const DELTA_MEDIA_TYPE = 'application/vnd.customs.db.delta.v1.tar+zstd';
export const BASE_VERSION_ANNOTATION = 'vnd.customs.db.base-version';
export const DEFAULT_DB_REPOSITORY = `ghcr.io/customs-scanner/customs-db:${SCHEMA_VERSION}`;
/** Deltas followed back at most (a week of 6-hourly versions and then some); beyond, the full one. */
const MAX_CHAIN = 40;

/**
 * The repositories to try, in order: --db-repository (repeatable), CUSTOMS_DB_REPOSITORY
 * (comma-separated), the config file's db.repositories, the default.
 */
export function dbRepositories(flags: string[] = []): string[] {
  if (flags.length) return flags;
  const env = (process.env.CUSTOMS_DB_REPOSITORY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (env.length) return env;
  const configured = userConfig().db?.repositories ?? [];
  return configured.length ? configured : [DEFAULT_DB_REPOSITORY];
}

/** A database repository reference: without a tag, the tag is the schema major (`:1`), not `latest`. */
export function dbReference(ref: string): ImageReference {
  const p = parseReference(ref);
  const name = ref.split('@')[0];
  const tagged = name.lastIndexOf(':') > name.lastIndexOf('/');
  return { ...p, tag: tagged ? p.tag : p.digest ? undefined : String(SCHEMA_VERSION) };
}

export interface ArtifactConfig {
  version: string;
  schemaVersion: number;
  /** The version before, and its manifest's digest: the chain a client walks back. */
  previous?: { version: string; manifest: string };
}

export interface InstallResult {
  status: 'installed' | 'current';
  mode?: 'full' | 'delta';
  version: string;
  origin: string;
  /** Bytes fetched over the network (blobs; manifests are not counted). */
  bytes: number;
  deltas: number;
  signedBy?: string;
}

export interface InstallOptions {
  keys: Map<string, KeyObject>;
  registry?: RegistryOptions;
  /** Only the whole database, never deltas. */
  full?: boolean;
  onProgress?: (what: string, received: number, total?: number) => void;
  log?: (line: string) => void;
}

function localVersion(dbPath: string): string | undefined {
  if (!existsSync(dbPath)) return undefined;
  try {
    const s = VulnStore.openRead(dbPath);
    try {
      return s.meta('built_at');
    } finally {
      s.close();
    }
  } catch {
    return undefined; // unreadable or another schema: replaced by a full download
  }
}

async function withLock<T>(dbPath: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(dbPath), { recursive: true });
  const release = await lockWait(dbPath);
  try {
    removeStale(dbPath);
    return await fn();
  } finally {
    release();
  }
}

/** Install a full bundle from a file already on disk (verified, then renamed into place). */
async function installFullFile(
  bundle: string,
  dbPath: string,
  keys: Map<string, KeyObject> | undefined,
  origin: string,
  what: string,
): Promise<{ manifest: DbManifest; signedBy?: string }> {
  const tmp = `${dbPath}.tmp-${process.pid}`;
  try {
    const r = await readBundle(bundle, tmp, keys, what);
    if (r.manifest.kind !== 'full') throw new CustomsError(`${what} is a delta, not a whole database`);
    VulnStore.openRead(tmp).close(); // it opens and has the right schema
    markOrigin(tmp, origin);
    renameSync(tmp, dbPath);
    return { manifest: r.manifest, signedBy: r.signedBy };
  } finally {
    rmSync(tmp, { force: true });
    rmSync(`${tmp}-journal`, { force: true });
  }
}

/** `db import BUNDLE`: a bundle file (signed, or unsigned when the user says so with `keys` undefined). */
export function installBundleFile(
  bundle: string,
  dbPath: string,
  keys: Map<string, KeyObject> | undefined,
): Promise<{ manifest: DbManifest; signedBy?: string }> {
  return withLock(dbPath, () =>
    installFullFile(bundle, dbPath, keys, `file ${bundle}`, 'the database bundle'),
  );
}

/** Stream a blob to a file, checking its digest and counting its bytes. */
export async function fetchBlob(
  client: RegistryClient,
  repository: string,
  digest: string,
  out: string,
  onBytes: (n: number) => void,
): Promise<void> {
  const h = createHash('sha256');
  setStage('downloading the database');
  const src = Readable.from(
    (async function* () {
      for await (const c of client.blob(repository, digest)) {
        h.update(c);
        onBytes(c.length);
        progressBytes(c.length);
        yield c;
      }
    })(),
  );
  await pipeline(src, createWriteStream(out));
  setStage('installing the database');
  const got = `sha256:${h.digest('hex')}`;
  if (got !== digest)
    throw new CustomsError(`blob ${digest} from ${client.host} does not match its digest (got ${got})`);
}

interface Version {
  manifestDigest: string;
  config: ArtifactConfig;
  full: { digest: string; size: number };
  delta?: { digest: string; size: number; base: string };
}

async function readVersion(client: RegistryClient, repository: string, reference: string): Promise<Version> {
  const m = await client.manifest(repository, reference);
  let doc: {
    artifactType?: string;
    config?: { mediaType?: string; digest?: string };
    layers?: Array<{
      mediaType?: string;
      digest?: string;
      size?: number;
      annotations?: Record<string, string>;
    }>;
  };
  try {
    doc = JSON.parse(m.body.toString('utf8')) as typeof doc;
  } catch {
    throw new CustomsError(`${repository}:${reference} is not a Customs database artifact`);
  }
  if (doc.config?.mediaType !== CONFIG_MEDIA_TYPE || !doc.config.digest)
    throw new CustomsError(
      `${client.domain}/${repository}:${reference} is not a Customs database artifact (its config is ${doc.config?.mediaType ?? 'missing'})`,
    );
  let config: ArtifactConfig;
  try {
    config = JSON.parse(
      (await client.smallBlob(repository, doc.config.digest, 64 * 1024)).toString('utf8'),
    ) as ArtifactConfig;
  } catch (err) {
    if (err instanceof CustomsError && !/JSON/.test(err.message)) throw err;
    throw new CustomsError(`${repository}:${reference}: its config is not valid JSON`);
  }
  const layer = (t: string) => doc.layers?.find((l) => l.mediaType === t && typeof l.digest === 'string');
  const full = layer(FULL_MEDIA_TYPE);
  if (!full) throw new CustomsError(`${repository}:${reference} has no full database layer`);
  const delta = layer(DELTA_MEDIA_TYPE);
  const base = delta?.annotations?.[BASE_VERSION_ANNOTATION];
  return {
    manifestDigest: m.digest,
    config,
    full: { digest: full.digest!, size: Number(full.size) },
    delta: delta && base ? { digest: delta.digest!, size: Number(delta.size), base } : undefined,
  };
}

/** Pull from one OCI repository reference. */
async function pullOci(ref: string, dbPath: string, opts: InstallOptions): Promise<InstallResult> {
  const parsed = dbReference(ref);
  const repository = parsed.repository;
  const tag = parsed.digest ?? parsed.tag!;
  const client = new RegistryClient(parsed.domain, opts.registry);
  const name = `${parsed.domain}/${repository}`;
  let bytes = 0;
  const count = (what: string, total?: number) => (n: number) => {
    bytes += n;
    opts.onProgress?.(what, bytes, total);
  };
  try {
    const newest = await readVersion(client, repository, tag);
    const local = localVersion(dbPath);
    const origin = `${name}@${newest.manifestDigest}`;
    if (local && local === newest.config.version)
      return { status: 'current', version: local, origin, bytes: 0, deltas: 0 };
    if (local && local > newest.config.version)
      throw new CustomsError(
        `${name}:${tag} holds version ${newest.config.version}, older than the local ${local}; the local database is kept`,
      );
    // Walk back the chain of versions to the local one, if it is near enough.
    const chain: Version[] = [];
    if (local && !opts.full) {
      let cur: Version | undefined = newest;
      while (cur && chain.length < MAX_CHAIN) {
        if (!cur.delta || !cur.config.previous || cur.delta.base !== cur.config.previous.version) break;
        chain.unshift(cur);
        if (cur.delta.base === local) break;
        if (cur.config.previous.version < local) break;
        cur = await readVersion(client, repository, cur.config.previous.manifest).catch(() => undefined);
      }
      if (chain[0]?.delta?.base !== local) chain.length = 0;
    }
    const deltaBytes = chain.reduce((n, v) => n + v.delta!.size, 0);
    if (chain.length && deltaBytes < newest.full.size) {
      try {
        const r = await applyChain(client, repository, chain, dbPath, opts, count, origin);
        return {
          status: 'installed',
          mode: 'delta',
          version: newest.config.version,
          origin,
          bytes,
          deltas: chain.length,
          signedBy: r,
        };
      } catch (err) {
        opts.log?.(
          `customs: warning: the deltas from ${name} could not be applied (${(err as Error).message}); downloading the whole database`,
        );
      }
    }
    const file = `${dbPath}.download-${process.pid}`;
    try {
      await fetchBlob(client, repository, newest.full.digest, file, count('database', newest.full.size));
      const r = await installFullFile(file, dbPath, opts.keys, origin, `the database from ${name}`);
      if (r.manifest.version !== newest.config.version)
        opts.log?.(
          `customs: warning: ${name}:${tag} said version ${newest.config.version}, its signed bundle is ${r.manifest.version}`,
        );
      return {
        status: 'installed',
        mode: 'full',
        version: r.manifest.version,
        origin,
        bytes,
        deltas: 0,
        signedBy: r.signedBy,
      };
    } finally {
      rmSync(file, { force: true });
    }
  } finally {
    await client.close();
  }
}

/** Apply deltas oldest first to a private copy; its content must equal the signed newest version's. */
async function applyChain(
  client: RegistryClient,
  repository: string,
  chain: Version[],
  dbPath: string,
  opts: InstallOptions,
  count: (what: string, total?: number) => (n: number) => void,
  origin: string,
): Promise<string | undefined> {
  const tmp = `${dbPath}.tmp-${process.pid}`;
  const file = `${dbPath}.download-${process.pid}`;
  const payload = `${dbPath}.delta-${process.pid}`;
  copyFileSync(dbPath, tmp);
  let db: Database.Database | undefined = new Database(tmp);
  try {
    db.pragma('journal_mode = DELETE');
    db.pragma('synchronous = OFF'); // a crash loses only the private copy
    let version = (db.prepare("SELECT value FROM meta WHERE key = 'built_at'").get() as { value: string })
      .value;
    let last: DbManifest | undefined;
    let signedBy: string | undefined;
    for (const v of chain) {
      await fetchBlob(client, repository, v.delta!.digest, file, count('delta', v.delta!.size));
      const r = await readBundle(file, payload, opts.keys, `the delta to ${v.config.version}`);
      rmSync(file, { force: true });
      if (r.manifest.kind !== 'delta' || r.manifest.baseVersion !== version)
        throw new CustomsError(
          `the delta to ${r.manifest.version} starts from ${r.manifest.baseVersion ?? 'nothing'}, not from ${version}`,
        );
      applyDelta(db, payload);
      rmSync(payload, { force: true });
      version = (db.prepare("SELECT value FROM meta WHERE key = 'built_at'").get() as { value: string })
        .value;
      if (version !== r.manifest.version)
        throw new CustomsError(
          `after the delta the database is version ${version}, not ${r.manifest.version}`,
        );
      last = r.manifest;
      signedBy = r.signedBy;
    }
    const digest = contentDigest(db);
    if (!last || digest !== last.contentDigest)
      throw new CustomsError(
        `after the deltas the content is ${digest}, not the signed ${last?.contentDigest}`,
      );
    db.exec('ANALYZE');
    db.close();
    db = undefined;
    markOrigin(tmp, origin);
    renameSync(tmp, dbPath);
    return signedBy;
  } finally {
    db?.close();
    for (const f of [tmp, `${tmp}-journal`, file, payload]) rmSync(f, { force: true });
  }
}

/** Install from a plain HTTPS (or, for tests, HTTP) URL of a bundle: always the whole database. */
async function pullUrl(url: string, dbPath: string, opts: InstallOptions): Promise<InstallResult> {
  const file = `${dbPath}.download-${process.pid}`;
  try {
    const r = await download(url, file, {
      idleTimeoutMs: opts.registry?.timeoutMs,
      retries: opts.registry?.retries,
      onProgress: (n, total) => opts.onProgress?.('database', n, total),
    });
    const local = localVersion(dbPath);
    const got = await installFullFile(file, dbPath, opts.keys, url, `the database from ${url}`);
    return {
      status: local === got.manifest.version ? 'current' : 'installed',
      mode: 'full',
      version: got.manifest.version,
      origin: url,
      bytes: r.bytes,
      deltas: 0,
      signedBy: got.signedBy,
    };
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * `db update` from prebuilt artifacts: each source in turn (mirrors first, as configured) until one
 * answers; the errors of all of them when none does.
 */
export async function pullDatabase(
  dbPath: string,
  sources: string[],
  opts: InstallOptions,
): Promise<InstallResult> {
  return withLock(dbPath, async () => {
    const errors: string[] = [];
    for (const src of sources) {
      try {
        if (/^https?:\/\//.test(src)) return await pullUrl(src, dbPath, opts);
        if (existsSync(src) && statSync(src).isFile()) {
          const r = await installFullFile(src, dbPath, opts.keys, `file ${src}`, src);
          return {
            status: 'installed',
            mode: 'full',
            version: r.manifest.version,
            origin: `file ${src}`,
            bytes: 0,
            deltas: 0,
            signedBy: r.signedBy,
          };
        }
        return await pullOci(src, dbPath, opts);
      } catch (err) {
        if (!(err instanceof CustomsError)) throw err;
        errors.push(sources.length > 1 ? `${src}: ${err.message}` : err.message);
      }
    }
    throw new CustomsError(errors.join('; '));
  });
}
