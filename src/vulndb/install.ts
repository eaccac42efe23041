import Database from 'better-sqlite3';
import { createHash, type KeyObject } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { userConfig } from '../config.js';
import { CustomsError } from '../errors.js';
import { progressBytes } from '../progress.js';
import { setStage } from '../stage.js';
import { RegistryClient, type RegistryOptions } from '../image/registry/client.js';
import { parseReference, type ImageReference } from '../image/registry/reference.js';
import { markOrigin, readBundle, type DbManifest } from './bundle.js';
import type { BlobBounds } from '../image/registry/client.js';
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
  /** When the signature of what is installed now expires. */
  expires?: string;
  /** Set when an older version replaced a newer one (allowDowngrade): the version replaced. */
  downgradedFrom?: string;
}

export interface InstallOptions {
  keys: Map<string, KeyObject>;
  registry?: RegistryOptions;
  /** Only the whole database, never deltas. */
  full?: boolean;
  onProgress?: (what: string, received: number, total?: number) => void;
  log?: (line: string) => void;
  /** Install a signed version older than the local one (a deliberate rollback). */
  allowDowngrade?: boolean;
  /** Each download (a blob, a bundle URL) must end within this many ms (default 10 minutes). */
  deadlineMs?: number;
}

const DEFAULT_DEADLINE_MS = 10 * 60_000;

const newer = (a: string, b: string) => Date.parse(a) > Date.parse(b);

/**
 * The rollback rule, applied to the signed manifest before its payload is written: only a version
 * newer than the local one (or the same one again), unless a downgrade is asked for; and, from an
 * OCI repository, exactly the version its unsigned config announced (a registry cannot pick one).
 */
function versionGate(
  local: string | undefined,
  what: string,
  opts: Pick<InstallOptions, 'allowDowngrade'>,
  announced?: string,
): (m: DbManifest) => void {
  return (m) => {
    if (announced !== undefined && m.version !== announced)
      throw new CustomsError(
        `${what}: the repository announces version ${announced} but its signed manifest is version ${m.version}; refused`,
      );
    if (local && newer(local, m.version) && !opts.allowDowngrade)
      throw new CustomsError(
        `${what} is signed version ${m.version}, older than the local ${local}: a rollback; refused (db update --allow-downgrade to install it on purpose)`,
      );
  };
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
  accept: (m: DbManifest) => void,
): Promise<{ manifest: DbManifest; signedBy?: string }> {
  const tmp = `${dbPath}.tmp-${process.pid}`;
  try {
    const r = await readBundle(bundle, tmp, keys, what, {
      accept: (m) => {
        if (m.kind !== 'full') throw new CustomsError(`${what} is a delta, not a whole database`);
        accept(m);
      },
    });
    VulnStore.openRead(tmp).close(); // it opens and has the right schema
    // An unsigned bundle's expiry is anyone's word: only a verified one is recorded.
    markOrigin(tmp, origin, keys ? r.manifest.expires : undefined);
    renameSync(tmp, dbPath);
    return { manifest: r.manifest, signedBy: r.signedBy };
  } finally {
    rmSync(tmp, { force: true });
    rmSync(`${tmp}-journal`, { force: true });
  }
}

/**
 * `db import BUNDLE`: a bundle file (signed, or unsigned when the user says so with `keys`
 * undefined), newer than the local database unless `allowDowngrade`.
 */
export function installBundleFile(
  bundle: string,
  dbPath: string,
  keys: Map<string, KeyObject> | undefined,
  opts: Pick<InstallOptions, 'allowDowngrade'> = {},
): Promise<{ manifest: DbManifest; signedBy?: string }> {
  return withLock(dbPath, () =>
    installFullFile(
      bundle,
      dbPath,
      keys,
      `file ${bundle}`,
      'the database bundle',
      versionGate(localVersion(dbPath), 'the database bundle', opts),
    ),
  );
}

/**
 * Stream a blob to a file, checking its digest and counting its bytes. `bounds` stop it at the
 * descriptor's size and at the deadline; whatever the transport throws becomes one line naming
 * the registry (never an undici internal error). The caller removes `out` on failure.
 */
export async function fetchBlob(
  client: RegistryClient,
  repository: string,
  digest: string,
  out: string,
  onBytes: (n: number) => void,
  bounds: BlobBounds = {},
): Promise<void> {
  const h = createHash('sha256');
  setStage('downloading the database');
  // Written chunk by chunk, each awaited: back-pressure without stream piping between undici's
  // body and the file (a close-delimited body on a slow disk tripped an undici assertion).
  const fh = await open(out, 'w');
  try {
    for await (const c of client.blob(repository, digest, bounds)) {
      h.update(c);
      onBytes(c.length);
      progressBytes(c.length);
      await fh.write(c);
    }
  } catch (err) {
    if (err instanceof CustomsError) throw err;
    throw new CustomsError(
      `registry ${client.host}: the download of blob ${digest} failed (${(err as Error)?.message ?? String(err)})`,
      undefined,
      { cause: err },
    );
  } finally {
    await fh.close();
  }
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
  // The size is the download's byte bound: a missing one (NaN) bounded nothing but the deadline.
  for (const l of [full, delta])
    if (l && !(Number.isSafeInteger(l.size) && l.size! >= 0))
      throw new CustomsError(
        `${client.domain}/${repository}:${reference}: its layer ${l.digest} has no valid size (${JSON.stringify(l.size) ?? 'missing'}); refused`,
      );
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
    const bounds = (size: number): BlobBounds => ({
      size,
      deadlineMs: opts.deadlineMs ?? DEFAULT_DEADLINE_MS,
    });
    if (local && local === newest.config.version)
      return { status: 'current', version: local, origin, bytes: 0, deltas: 0 };
    // The config is unsigned: it only decides what to fetch. The signed manifest decides what is
    // installed (versionGate), so a config lying "newer" gets a download refused, never a rollback.
    if (local && newer(local, newest.config.version) && !opts.allowDowngrade)
      throw new CustomsError(
        `${name}:${tag} holds version ${newest.config.version}, older than the local ${local}; the local database is kept (db update --allow-downgrade to install it on purpose)`,
      );
    // Walk back the chain of versions to the local one, if it is near enough.
    const chain: Version[] = [];
    if (local && !opts.full && !newer(local, newest.config.version)) {
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
        const r = await applyChain(client, repository, chain, dbPath, opts, count, origin, bounds);
        return {
          status: 'installed',
          mode: 'delta',
          version: newest.config.version,
          origin,
          bytes,
          deltas: chain.length,
          signedBy: r.signedBy,
          expires: r.expires,
        };
      } catch (err) {
        opts.log?.(
          `customs: warning: the deltas from ${name} could not be applied (${(err as Error).message}); downloading the whole database`,
        );
      }
    }
    const file = `${dbPath}.download-${process.pid}`;
    try {
      await fetchBlob(
        client,
        repository,
        newest.full.digest,
        file,
        count('database', newest.full.size),
        bounds(newest.full.size),
      );
      const what = `the database from ${name}`;
      const r = await installFullFile(
        file,
        dbPath,
        opts.keys,
        origin,
        what,
        versionGate(local, what, opts, newest.config.version),
      );
      return {
        status: 'installed',
        mode: 'full',
        version: r.manifest.version,
        origin,
        bytes,
        deltas: 0,
        signedBy: r.signedBy,
        expires: r.manifest.expires,
        ...(local && newer(local, r.manifest.version) ? { downgradedFrom: local } : {}),
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
  bounds: (size: number) => BlobBounds,
): Promise<{ signedBy?: string; expires?: string }> {
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
      await fetchBlob(
        client,
        repository,
        v.delta!.digest,
        file,
        count('delta', v.delta!.size),
        bounds(v.delta!.size),
      );
      const what = `the delta to ${v.config.version}`;
      // Both ends of a delta are signed: it must start at this copy's version and end at the one
      // the repository announced, later than where it starts.
      const from = version;
      const r = await readBundle(file, payload, opts.keys, what, {
        accept: (m) => {
          if (m.kind !== 'delta' || m.baseVersion !== from)
            throw new CustomsError(
              `the delta to ${m.version} starts from ${m.baseVersion ?? 'nothing'}, not from ${from}`,
            );
          if (!newer(m.version, from))
            throw new CustomsError(`${what} goes back from ${from} to ${m.version}; refused`);
          versionGate(undefined, what, opts, v.config.version)(m);
        },
      });
      rmSync(file, { force: true });
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
    markOrigin(tmp, origin, last.expires);
    renameSync(tmp, dbPath);
    return { signedBy, expires: last.expires };
  } finally {
    db?.close();
    for (const f of [tmp, `${tmp}-journal`, file, payload]) rmSync(f, { force: true });
  }
}

/** A bundle from a plain URL has no descriptor to bound it: this much at most. */
const MAX_URL_BUNDLE = 8 * 1024 ** 3;

/** Install from a plain HTTPS (or, for tests, HTTP) URL of a bundle: always the whole database. */
async function pullUrl(url: string, dbPath: string, opts: InstallOptions): Promise<InstallResult> {
  const file = `${dbPath}.download-${process.pid}`;
  try {
    const r = await download(url, file, {
      idleTimeoutMs: opts.registry?.timeoutMs,
      retries: opts.registry?.retries,
      deadlineMs: opts.deadlineMs ?? DEFAULT_DEADLINE_MS,
      maxBytes: MAX_URL_BUNDLE,
      onProgress: (n, total) => opts.onProgress?.('database', n, total),
    });
    const local = localVersion(dbPath);
    const what = `the database from ${url}`;
    const got = await installFullFile(file, dbPath, opts.keys, url, what, versionGate(local, what, opts));
    return {
      status: local === got.manifest.version ? 'current' : 'installed',
      mode: 'full',
      version: got.manifest.version,
      origin: url,
      bytes: r.bytes,
      deltas: 0,
      signedBy: got.signedBy,
      expires: got.manifest.expires,
      ...(local && newer(local, got.manifest.version) ? { downgradedFrom: local } : {}),
    };
  } finally {
    for (const f of [file, `${file}.part`, `${file}.part.json`]) rmSync(f, { force: true });
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
          const local = localVersion(dbPath);
          const r = await installFullFile(
            src,
            dbPath,
            opts.keys,
            `file ${src}`,
            src,
            versionGate(local, src, opts),
          );
          return {
            status: 'installed',
            mode: 'full',
            version: r.manifest.version,
            origin: `file ${src}`,
            bytes: 0,
            deltas: 0,
            signedBy: r.signedBy,
            expires: r.manifest.expires,
            ...(local && newer(local, r.manifest.version) ? { downgradedFrom: local } : {}),
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
