import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PG_ADMIN_URL, pgQuery } from './pg.js';

/** The two stores the server runs on; every server test runs its story on each. */
export const ENGINES = ['sqlite', 'postgres'] as const;
export type Engine = (typeof ENGINES)[number];

/** CI starts PostgreSQL (.ci/run); elsewhere a machine without one runs the SQLite rounds only. */
export const pgSkip: string | false =
  !(await pgQuery('select 1')) && !process.env.CI ? 'no PostgreSQL at 127.0.0.1:5432' : false;

/**
 * One `describe` per store, named `title (engine)`: the same story and the same assertions on
 * SQLite and on PostgreSQL (skipped where there is none and not on CI).
 */
export function describeStores(
  title: string,
  opts: { skip?: string | false; timeout?: number },
  body: (engine: Engine) => void,
): void {
  for (const engine of ENGINES)
    describe(`${title} (${engine})`, { ...opts, skip: opts.skip || (engine === 'postgres' && pgSkip) }, () =>
      body(engine),
    );
}

/** One `it` per store, for a file whose other tests do not touch a store. */
export function itStores(
  title: string,
  opts: { skip?: string | false; timeout?: number },
  body: (engine: Engine, t: TestContext) => Promise<void>,
): void {
  for (const engine of ENGINES)
    it(`${title} (${engine})`, { ...opts, skip: opts.skip || (engine === 'postgres' && pgSkip) }, (t) =>
      body(engine, t),
    );
}

/** A store of its own for one round: a SQLite data folder, or a fresh PostgreSQL database. */
export interface TestStore {
  engine: Engine;
  /**
   * The store flags of `customs server` and its subcommands: `--data <dir>`, with `--database <url>`
   * on PostgreSQL (the data folder keeps the secret key either way).
   */
  args: string[];
  /** What `openDb` takes for the same store. */
  where: { data: string; database?: string };
  /** One statement on the store as someone with database access runs it (`?` placeholders). */
  sql(q: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  /** Drop the PostgreSQL database (the SQLite folder goes with the caller's temporary folder). */
  drop(): Promise<void>;
}

/** `dir` is the data folder on SQLite; on PostgreSQL a database named after `label` is made. */
export async function freshStore(engine: Engine, dir: string, label = 'test'): Promise<TestStore> {
  if (engine === 'sqlite') {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'customs.sqlite');
    return {
      engine,
      args: ['--data', dir],
      where: { data: dir },
      sql: async (q, params = []) => {
        const db = new Database(file);
        try {
          const s = db.prepare(q);
          return s.reader ? (s.all(...params) as Array<Record<string, unknown>>) : (s.run(...params), []);
        } finally {
          db.close();
        }
      },
      drop: async () => undefined,
    };
  }
  // Unique per process and round: two test files may run at once against one server.
  const name = `customs_${label.replace(/\W/g, '_')}_${process.pid}_${randomBytes(3).toString('hex')}`;
  if (!(await pgQuery(`CREATE DATABASE ${name}`))) throw new Error(`cannot create database ${name}`);
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  mkdirSync(dir, { recursive: true });
  return {
    engine,
    args: ['--data', dir, '--database', url],
    where: { data: dir, database: url },
    sql: async (q, params = []) => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        let n = 0;
        return (
          await c.query(
            q.replace(/\?/g, () => `$${++n}`),
            params,
          )
        ).rows as Array<Record<string, unknown>>;
      } finally {
        await c.end();
      }
    },
    drop: async () => {
      await pgQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
