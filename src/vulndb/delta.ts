import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { CustomsError } from '../errors.js';

/**
 * Row-level deltas between two databases of the same schema, as a small SQLite file.
 *
 * Why not SQLite's session extension: better-sqlite3 does not expose it, and a changeset must be
 * recorded while the new database is written, which the feed builder (a private copy, then a
 * rename) cannot guarantee across runs. A diff of the two finished files needs nothing from the
 * builder, is computed in SQL with ATTACH and EXCEPT, and is applied in SQL too.
 *
 * Advisories, their aliases and their affected rows change together, so they travel as groups
 * keyed by (source, id): a group that differs in any row is deleted and re-inserted whole. Every
 * other table is keyed by its primary key and travels row by row. Meta keys starting `local.` are
 * the client's own (where its copy came from) and never travel.
 */

const GROUP_TABLES = ['advisories', 'aliases', 'affected'] as const;
const KEYED_TABLES: Record<string, string[]> = {
  meta: ['key'],
  sources: ['name'],
  kev: ['cve'],
  epss: ['cve'],
  cvss: ['cve'],
  downloads: ['url'],
};
/** Every table whose rows make up the database's content, in a fixed order. */
export const CONTENT_TABLES = [...GROUP_TABLES, ...Object.keys(KEYED_TABLES)];

const notLocal = (table: string, alias = '') =>
  table === 'meta' ? ` WHERE ${alias}key NOT LIKE 'local.%'` : '';

function columns(db: Database.Database, schema: string, table: string): string[] {
  return (db.prepare(`PRAGMA ${schema}.table_info(${table})`).all() as Array<{ name: string }>).map(
    (c) => c.name,
  );
}

/** Rows per content table (meta without the client's own keys). */
export function tableCounts(db: Database.Database, schema = 'main'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of CONTENT_TABLES)
    out[t] = (db.prepare(`SELECT COUNT(*) AS n FROM ${schema}.${t}${notLocal(t)}`).get() as { n: number }).n;
  return out;
}

/**
 * A digest of the database's logical content: every row of every content table in a fixed order.
 * Two databases with the same digest answer every query the same, whatever their page layout.
 */
export function contentDigest(db: Database.Database): string {
  const h = createHash('sha256');
  for (const t of CONTENT_TABLES) {
    const cols = columns(db, 'main', t);
    h.update(`\u0000${t}(${cols.join(',')})\u0000`);
    const rows = db
      .prepare(`SELECT * FROM main.${t}${notLocal(t)} ORDER BY ${cols.map((_, i) => i + 1).join(', ')}`)
      .raw()
      .iterate() as IterableIterator<unknown[]>;
    for (const r of rows) h.update(JSON.stringify(r)).update('\n');
  }
  return `sha256:${h.digest('hex')}`;
}

/**
 * The advisory groups (source, id) that differ between schemas `now` and `was`: any row of the
 * advisory, its aliases or its affected packages added, removed or changed, or an affected row
 * repeated a different number of times (EXCEPT compares sets).
 */
function changedGroups(now: string, was: string): string {
  const both = (t: string) =>
    `SELECT source, id FROM (SELECT * FROM ${now}.${t} EXCEPT SELECT * FROM ${was}.${t})
     UNION SELECT source, id FROM (SELECT * FROM ${was}.${t} EXCEPT SELECT * FROM ${now}.${t})`;
  return `${GROUP_TABLES.map(both).join(' UNION ')}
    UNION SELECT source, id FROM (
      SELECT source, id, COUNT(*) FROM ${now}.affected GROUP BY 1, 2
      EXCEPT SELECT source, id, COUNT(*) FROM ${was}.affected GROUP BY 1, 2)`;
}

export interface DeltaStats {
  groupsChanged: number;
  rowsUpserted: number;
  rowsDeleted: number;
}

/** Write the delta that turns `oldPath` into `newPath` to the (new) SQLite file `out`. */
export function computeDelta(oldPath: string, newPath: string, out: string): DeltaStats {
  rmSync(out, { force: true });
  const db = new Database(out);
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.prepare('ATTACH ? AS o').run(oldPath);
    db.prepare('ATTACH ? AS n').run(newPath);
    for (const t of CONTENT_TABLES) {
      const a = columns(db, 'o', t).join(',');
      const b = columns(db, 'n', t).join(',');
      if (a !== b)
        throw new CustomsError(`the two databases differ in the columns of ${t}; no delta between schemas`);
    }
    db.exec('BEGIN');
    db.exec(`CREATE TABLE groups_deleted AS ${changedGroups('n', 'o')}`);
    let rowsUpserted = 0;
    let rowsDeleted = 0;
    for (const t of GROUP_TABLES) {
      db.exec(`CREATE TABLE ${t} AS SELECT * FROM n.${t} WHERE 0`);
      rowsUpserted += db
        .prepare(
          `INSERT INTO ${t} SELECT * FROM n.${t} WHERE (source, id) IN (SELECT source, id FROM groups_deleted)`,
        )
        .run().changes;
    }
    for (const [t, key] of Object.entries(KEYED_TABLES)) {
      const k = key.join(', ');
      db.exec(`CREATE TABLE ${t} AS SELECT * FROM n.${t} WHERE 0`);
      rowsUpserted += db
        .prepare(
          `INSERT INTO ${t} SELECT * FROM (SELECT * FROM n.${t}${notLocal(t)} EXCEPT SELECT * FROM o.${t}${notLocal(t)})`,
        )
        .run().changes;
      db.exec(`CREATE TABLE ${t}_deleted AS SELECT ${k} FROM n.${t} WHERE 0`);
      rowsDeleted += db
        .prepare(
          `INSERT INTO ${t}_deleted SELECT ${k} FROM o.${t}${notLocal(t)} EXCEPT SELECT ${k} FROM n.${t}`,
        )
        .run().changes;
    }
    const groupsChanged = (db.prepare('SELECT COUNT(*) AS n FROM groups_deleted').get() as { n: number }).n;
    db.exec('COMMIT');
    db.exec('DETACH o');
    db.exec('DETACH n');
    db.exec('VACUUM');
    return { groupsChanged, rowsUpserted, rowsDeleted };
  } finally {
    db.close();
  }
}

/**
 * Apply a delta to a database opened for writing (the caller's private copy), in one transaction.
 * The delta's columns must match the database's: a delta is only ever made between two databases
 * of the same schema, and the caller checks the schema in the signed manifest first.
 */
export function applyDelta(db: Database.Database, deltaPath: string): void {
  db.prepare('ATTACH ? AS d').run(deltaPath);
  try {
    for (const t of CONTENT_TABLES) {
      const a = columns(db, 'main', t).join(',');
      const b = columns(db, 'd', t).join(',');
      if (a !== b) throw new CustomsError(`the delta's ${t} does not match this database's columns`);
    }
    db.exec('BEGIN');
    try {
      for (const t of GROUP_TABLES) {
        db.exec(`DELETE FROM main.${t} WHERE (source, id) IN (SELECT source, id FROM d.groups_deleted)`);
        const cols = columns(db, 'main', t).join(', ');
        db.exec(`INSERT INTO main.${t} (${cols}) SELECT ${cols} FROM d.${t}`);
      }
      for (const [t, key] of Object.entries(KEYED_TABLES)) {
        const k = key.join(', ');
        db.exec(`DELETE FROM main.${t} WHERE (${k}) IN (SELECT ${k} FROM d.${t}_deleted)`);
        const cols = columns(db, 'main', t).join(', ');
        db.exec(`INSERT OR REPLACE INTO main.${t} (${cols}) SELECT ${cols} FROM d.${t}`);
      }
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  } finally {
    db.exec('DETACH d');
  }
}

/**
 * The (ecosystem, package) pairs whose matching a change from `oldPath` to `newPath` can alter:
 * the affected rows of every advisory group that changed (before and after, so a withdrawn or
 * narrowed advisory re-matches too), and of advisories whose CVE changed in KEV or NVD (a new KEV
 * entry changes risk and grade without touching the advisory).
 */
export function changedKeys(oldPath: string, newPath: string): Array<{ ecosystem: string; name: string }> {
  const db = new Database(newPath, { readonly: true });
  try {
    db.prepare('ATTACH ? AS o').run(oldPath);
    const cves = (t: string) =>
      `SELECT cve FROM (SELECT * FROM main.${t} EXCEPT SELECT * FROM o.${t})
       UNION SELECT cve FROM (SELECT * FROM o.${t} EXCEPT SELECT * FROM main.${t})`;
    const rows = db
      .prepare(
        `WITH changed AS (
           ${changedGroups('main', 'o')}
           UNION SELECT source, id FROM main.advisories WHERE id IN (${cves('kev')} UNION ${cves('cvss')})
           UNION SELECT source, id FROM main.aliases WHERE alias IN (${cves('kev')} UNION ${cves('cvss')})
         )
         SELECT DISTINCT eco_base AS ecosystem, package AS name FROM main.affected WHERE (source, id) IN (SELECT source, id FROM changed)
         UNION SELECT DISTINCT eco_base, package FROM o.affected WHERE (source, id) IN (SELECT source, id FROM changed)`,
      )
      .all() as Array<{ ecosystem: string; name: string }>;
    return rows;
  } finally {
    db.close();
  }
}
