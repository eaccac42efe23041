import { sql } from 'kysely';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { CustomsError } from '../errors.js';
import { migrate } from './migrations.js';
import type { Engine, Tables } from './schema.js';

export type { Engine } from './schema.js';

export interface Db {
  engine: Engine;
  k: Kysely<Tables>;
  /** The connection string for pg-boss (PostgreSQL only). */
  url?: string;
  /** Signs audit entries with the server key (gate/server-key.ts); kept across transactions. */
  signer?: Signer;
  close(): Promise<void>;
}

export interface Signer {
  /** sha256 of the public key (DER), hex: what a signature names. */
  keyId: string;
  /** base64 DER ECDSA P-256/SHA-256 signature of `message`. */
  sign(message: string): string;
  /**
   * The keys whose signatures count: those whose sealed private half opens with this server's
   * secret key and matches the public half. A public key merely present in the store proves
   * nothing (whoever writes the store could add one and re-sign a rewritten log with it).
   */
  trusted: Map<string, import('node:crypto').KeyObject>;
  /** When the oldest trusted key was made (sealed with it, so the store cannot move it). */
  signingSince?: string;
}

/** The service's data folder: --data, CUSTOMS_DATA, else $XDG_DATA_HOME/customs. */
export function defaultDataDir(explicit?: string): string {
  if (explicit) return explicit;
  if (process.env.CUSTOMS_DATA) return process.env.CUSTOMS_DATA;
  return join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'customs');
}

/** Where the store lives: a postgres:// URL, else `customs.sqlite` in the data folder. */
export function storeLocation(opts: { database?: string; data?: string }): { engine: Engine; where: string } {
  const url = opts.database ?? process.env.CUSTOMS_DATABASE;
  if (url && /^postgres(ql)?:\/\//.test(url)) return { engine: 'postgres', where: url };
  if (url) return { engine: 'sqlite', where: url.replace(/^sqlite:(\/\/)?/, '') };
  const dir = defaultDataDir(opts.data);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  ownerOnly(dir, 0o700);
  return { engine: 'sqlite', where: join(dir, 'customs.sqlite') };
}

/**
 * The store holds token hashes, sealed secrets and the audit log: only its owner may read it.
 * (A folder or file made by an older version, or under a loose umask, is tightened too.)
 */
function ownerOnly(path: string, mode: number): void {
  try {
    chmodSync(path, mode);
  } catch {
    /* not ours to change (a shared mount): left as it is */
  }
}

/** How long a SQLite write waits for another connection's write lock. */
export const SQLITE_BUSY_MS = 5000;

/** Open (and migrate) the store on SQLite or PostgreSQL. */
export async function openDb(opts: { database?: string; data?: string }): Promise<Db> {
  const { engine, where } = storeLocation(opts);
  let k: Kysely<Tables>;
  if (engine === 'postgres') {
    const pool = new pg.Pool({ connectionString: where, max: 10 });
    // An idle client's error (the server restarting) must not crash the process.
    pool.on('error', () => {});
    k = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
    try {
      await pool.query('select 1');
    } catch (err) {
      await k.destroy();
      throw new CustomsError(`cannot reach PostgreSQL: ${(err as Error).message}`, redact(where));
    }
  } else {
    let sqlite: Database.Database;
    try {
      // Made 0600 before SQLite opens it: SQLite gives its -wal and -shm files the same mode.
      if (where !== ':memory:' && !existsSync(where)) closeSync(openSync(where, 'a', 0o600));
      sqlite = new Database(where);
    } catch (err) {
      throw new CustomsError(`cannot open the service database: ${(err as Error).message}`, where);
    }
    // WAL lets API readers go on while a worker writes; busy_timeout rides out short locks.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_MS}`);
    sqlite.pragma('synchronous = NORMAL');
    if (where !== ':memory:')
      for (const f of [where, `${where}-wal`, `${where}-shm`]) if (existsSync(f)) ownerOnly(f, 0o600);
    k = new Kysely<Tables>({ dialect: new SqliteDialect({ database: sqlite }) });
  }
  await migrate(k, engine);
  return { engine, k, url: engine === 'postgres' ? where : undefined, close: () => k.destroy() };
}

/** A connection string fit for messages: the password hidden. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

export const now = (): string => new Date().toISOString();

/** Run `fn` in one transaction (a change and its audit entries land together or not at all). */
export async function inTransaction<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  return db.k.transaction().execute((k) => fn({ ...db, k }));
}

/** One round trip to the store (readiness): throws when it cannot answer. */
export async function pingStore(db: Db): Promise<void> {
  await sql`select 1`.execute(db.k);
}

/**
 * Bring PostgreSQL's planner statistics up to date (ANALYZE). Autovacuum does this as tables grow;
 * a store filled in bulk (the fleet benches) on a server running without it would otherwise be
 * planned as if its tables were empty (a nested loop over 5,000 workloads took an environment's
 * page from 0.1 s to 1.3 s). SQLite: nothing to do.
 */
export async function analyzeStore(db: Db): Promise<void> {
  if (db.engine === 'postgres') await sql`ANALYZE`.execute(db.k);
}
