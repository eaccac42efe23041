import Database from 'better-sqlite3';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { CustomsError } from '../../errors.js';
import { normalizePackageName } from '../../ecosystems/index.js';
import { lockWait, removeStale } from './lock.js';
import {
  migrate,
  parse,
  rowToSource,
  SCHEMA_VERSION,
  type AffectedRow,
  type KevEntry,
  type SourceStatus,
} from './schema.js';
import { StoreWriter } from './writer.js';

/** A stored affected row; its JSON columns are parsed only when read (most rows never are). */
class StoredAffected implements AffectedRow {
  readonly source: string;
  readonly id: string;
  readonly ecosystem: string;
  readonly ecoBase: string;
  readonly ecoRelease: string;
  readonly package: string;
  readonly packageRaw: string;
  readonly purl?: string;
  readonly status: string;
  private readonly raw: Record<string, unknown>;
  private parsed?: Record<string, unknown>;

  constructor(r: Record<string, unknown>) {
    this.source = r.source as string;
    this.id = r.id as string;
    this.ecosystem = r.ecosystem as string;
    this.ecoBase = r.eco_base as string;
    this.ecoRelease = r.eco_release as string;
    this.package = r.package as string;
    this.packageRaw = r.package_raw as string;
    this.purl = (r.purl as string) ?? undefined;
    this.status = r.status as string;
    this.raw = r;
  }

  private field<T>(column: string): T | undefined {
    this.parsed ??= {};
    if (!(column in this.parsed)) this.parsed[column] = parse(this.raw[column]);
    return this.parsed[column] as T | undefined;
  }

  get ranges(): AffectedRow['ranges'] {
    return this.field('ranges');
  }
  get versions(): string[] | undefined {
    return this.field('versions');
  }
  get severity(): AffectedRow['severity'] {
    return this.field('severity');
  }
  get ecosystemSpecific(): Record<string, unknown> | undefined {
    return this.field('ecosystem_specific');
  }
  get databaseSpecific(): Record<string, unknown> | undefined {
    return this.field('database_specific');
  }

  toJSON(): AffectedRow {
    const { raw: _raw, parsed: _parsed, ...plain } = this as unknown as Record<string, unknown>;
    return {
      ...(plain as object),
      ranges: this.ranges,
      versions: this.versions,
      severity: this.severity,
      ecosystemSpecific: this.ecosystemSpecific,
      databaseSpecific: this.databaseSpecific,
    } as AffectedRow;
  }
}

function rowToAffected(r: Record<string, unknown>): AffectedRow {
  return new StoredAffected(r);
}

export interface AdvisoryView {
  source: string;
  id: string;
  modified?: string;
  published?: string;
  withdrawn?: string;
  summary?: string;
  details?: string;
  aliases: string[];
  severity?: unknown;
  databaseSpecific?: unknown;
  references?: unknown;
  affected: AffectedRow[];
}

/** Read access to the vulnerability database. */
export class VulnStore {
  private constructor(
    readonly db: Database.Database,
    readonly path: string,
  ) {}

  static exists(path: string): boolean {
    return existsSync(path);
  }

  static openRead(path: string): VulnStore {
    if (!existsSync(path)) {
      throw new CustomsError(
        `no vulnerability database at ${path}; run "customs db update" (online) or "customs db import PATH" (offline)`,
      );
    }
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
      const v = db.prepare("SELECT value FROM meta WHERE key='schema_version'").get() as
        { value: string } | undefined;
      if (Number(v?.value) !== SCHEMA_VERSION) {
        db.close();
        throw new CustomsError(
          `the database at ${path} has schema ${v?.value ?? '?'}, this Customs needs ${SCHEMA_VERSION}; run "customs db update"`,
        );
      }
    } catch (err) {
      if (err instanceof CustomsError) throw err;
      throw new CustomsError(
        `the database at ${path} cannot be read (${(err as Error).message}); run "customs db update"`,
      );
    }
    return new VulnStore(db, path);
  }

  /**
   * Change the database safely: the work happens on a private copy, which replaces the database
   * in one rename when it is complete. A crash leaves the previous database as it was, and
   * readers keep the file they opened.
   */
  static async update<T>(path: string, fn: (w: StoreWriter) => Promise<T> | T): Promise<T> {
    mkdirSync(dirname(path), { recursive: true });
    const release = await lockWait(path);
    const tmp = `${path}.tmp-${process.pid}`;
    try {
      removeStale(path);
      if (existsSync(path)) copyFileSync(path, tmp);
      const db = new Database(tmp);
      let result: T;
      try {
        db.pragma('journal_mode = DELETE');
        db.pragma('synchronous = OFF'); // a crash loses only the private copy
        migrate(db);
        const w = new StoreWriter(db);
        db.exec('BEGIN');
        try {
          result = await fn(w);
          db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('built_at', ?)").run(
            new Date().toISOString(),
          );
          db.exec('COMMIT');
        } catch (err) {
          db.exec('ROLLBACK');
          throw err;
        }
        db.exec('ANALYZE');
      } finally {
        db.close();
      }
      renameSync(tmp, path);
      return result;
    } finally {
      rmSync(tmp, { force: true });
      release();
    }
  }

  close(): void {
    this.db.close();
  }

  /**
   * Answers are kept per open store (the file is read-only, and a replaced database is a new
   * store): re-matching a fleet asks about the same few thousand packages and advisories for every
   * inventory. Each table of answers is bounded; callers must not change what they get.
   */
  private readonly memos = new Map<string, Map<string, unknown>>();
  private memo<T>(table: string, key: string, load: () => T): T {
    let m = this.memos.get(table);
    if (!m) this.memos.set(table, (m = new Map()));
    if (m.has(key)) return m.get(key) as T;
    if (m.size >= 200_000) m.clear();
    const v = load();
    m.set(key, v);
    return v;
  }

  /** Statements are prepared once per open store: a fleet re-match asks the same few queries millions of times. */
  private readonly statements = new Map<string, Database.Statement>();
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) this.statements.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  meta(key: string): string | undefined {
    return (this.stmt('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)
      ?.value;
  }

  sources(): SourceStatus[] {
    return (this.stmt('SELECT * FROM sources ORDER BY name').all() as unknown[]).map((r) => rowToSource(r)!);
  }

  counts(): Array<{ source: string; ecosystem: string; advisories: number; rows: number }> {
    return this.db
      .prepare(
        'SELECT source, eco_base AS ecosystem, COUNT(DISTINCT id) AS advisories, COUNT(*) AS rows FROM affected GROUP BY source, eco_base ORDER BY source, eco_base',
      )
      .all() as Array<{ source: string; ecosystem: string; advisories: number; rows: number }>;
  }

  tableCount(table: 'kev' | 'epss' | 'cvss' | 'advisories'): number {
    return (this.stmt(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  }

  /** Every affected row for these package names in one ecosystem (names as installed; normalised here). */
  affectedFor(ecosystemBase: string, names: string[]): Map<string, AffectedRow[]> {
    const byNorm = new Map<string, string[]>();
    for (const name of new Set(names)) {
      const n = normalizePackageName(ecosystemBase, name);
      byNorm.set(n, [...(byNorm.get(n) ?? []), name]);
    }
    // Names asked before come from the memo; the rest in one query (the names as a JSON array).
    let known = this.memos.get('affected');
    if (!known) this.memos.set('affected', (known = new Map()));
    const missing = [...byNorm.keys()].filter((n) => !known.has(`${ecosystemBase}\u0000${n}`));
    if (missing.length) {
      if (known.size >= 200_000) known.clear();
      const rows = this.stmt(
        `SELECT * FROM affected WHERE eco_base = ? AND package IN (SELECT value FROM json_each(?))
         AND NOT EXISTS (SELECT 1 FROM advisories a WHERE a.source = affected.source AND a.id = affected.id AND a.withdrawn IS NOT NULL)`,
      ).all(ecosystemBase, JSON.stringify(missing)) as Array<Record<string, unknown>>;
      const found = new Map<string, AffectedRow[]>(missing.map((n) => [n, []]));
      for (const r of rows) {
        const row = rowToAffected(r);
        found.get(row.package)?.push(row);
      }
      for (const [n, list] of found) known.set(`${ecosystemBase}\u0000${n}`, list);
    }
    const out = new Map<string, AffectedRow[]>();
    for (const [norm, installed] of byNorm) {
      const list = known.get(`${ecosystemBase}\u0000${norm}`) as AffectedRow[];
      if (!list.length) continue;
      for (const name of installed) out.set(name, [...(out.get(name) ?? []), ...list]);
    }
    return out;
  }

  /** An advisory by its id or any alias, from every source that has it. */
  advisories(idOrAlias: string): AdvisoryView[] {
    const keys = this.db
      .prepare(
        'SELECT source, id FROM advisories WHERE id = ? UNION SELECT source, id FROM aliases WHERE alias = ?',
      )
      .all(idOrAlias, idOrAlias) as Array<{ source: string; id: string }>;
    return keys.map(({ source, id }) => {
      const r = this.db
        .prepare('SELECT * FROM advisories WHERE source = ? AND id = ?')
        .get(source, id) as Record<string, unknown>;
      const aliases = (
        this.db
          .prepare('SELECT alias FROM aliases WHERE source = ? AND id = ? ORDER BY alias')
          .all(source, id) as Array<{ alias: string }>
      ).map((a) => a.alias);
      const affected = (
        this.db
          .prepare('SELECT * FROM affected WHERE source = ? AND id = ? ORDER BY ecosystem, package')
          .all(source, id) as Array<Record<string, unknown>>
      ).map(rowToAffected);
      return {
        source,
        id,
        modified: (r.modified as string) ?? undefined,
        published: (r.published as string) ?? undefined,
        withdrawn: (r.withdrawn as string) ?? undefined,
        summary: (r.summary as string) ?? undefined,
        details: (r.details as string) ?? undefined,
        aliases,
        severity: parse(r.severity),
        databaseSpecific: parse(r.database_specific),
        references: parse(r.refs),
        affected,
      };
    });
  }

  download(url: string): { etag?: string; lastModified?: string } | undefined {
    const r = this.stmt('SELECT etag, last_modified FROM downloads WHERE url = ?').get(url) as
      { etag: string | null; last_modified: string | null } | undefined;
    return r ? { etag: r.etag ?? undefined, lastModified: r.last_modified ?? undefined } : undefined;
  }

  /** Aliases of an advisory (empty when it has none). */
  aliasesOf(source: string, id: string): string[] {
    return this.memo('aliases', `${source}\u0000${id}`, () =>
      (
        this.stmt('SELECT alias FROM aliases WHERE source = ? AND id = ?').all(source, id) as Array<{
          alias: string;
        }>
      ).map((a) => a.alias),
    ).slice();
  }

  /** The advisory's own fields (no affected rows): for titles, severities and references. */
  advisoryInfo(
    source: string,
    id: string,
  ):
    | {
        summary?: string;
        details?: string;
        published?: string;
        severity?: Array<{ type: string; score: string }>;
        databaseSpecific?: Record<string, unknown>;
        references?: Array<{ url: string }>;
      }
    | undefined {
    const r = this.memo('info', `${source}\u0000${id}`, () =>
      this.stmt(
        'SELECT summary, details, published, severity, database_specific, refs FROM advisories WHERE source = ? AND id = ?',
      ).get(source, id),
    ) as Record<string, string | null> | undefined;
    if (!r) return undefined;
    return {
      summary: r.summary ?? undefined,
      published: r.published ?? undefined,
      details: r.details ?? undefined,
      severity: parse(r.severity),
      databaseSpecific: parse(r.database_specific),
      references: parse(r.refs),
    };
  }

  kev(cve: string): KevEntry | undefined {
    const r = this.memo('kev', cve, () => this.stmt('SELECT * FROM kev WHERE cve = ?').get(cve)) as
      Record<string, string | null> | undefined;
    if (!r) return undefined;
    return {
      cve,
      vendor: r.vendor ?? undefined,
      product: r.product ?? undefined,
      name: r.name ?? undefined,
      dateAdded: r.date_added ?? undefined,
      dueDate: r.due_date ?? undefined,
      ransomware: r.ransomware ?? undefined,
      action: r.action ?? undefined,
      notes: r.notes ?? undefined,
    };
  }

  epss(cve: string): { score: number; percentile: number; date?: string } | undefined {
    const r = this.memo('epss', cve, () =>
      this.stmt('SELECT score, percentile, date FROM epss WHERE cve = ?').get(cve),
    ) as { score: number; percentile: number; date: string | null } | undefined;
    return r ? { score: r.score, percentile: r.percentile, date: r.date ?? undefined } : undefined;
  }

  cvss(
    cve: string,
  ): { metrics: unknown; cwes: string[]; published?: string; description?: string } | undefined {
    const r = this.memo('cvss', cve, () => this.stmt('SELECT * FROM cvss WHERE cve = ?').get(cve)) as
      Record<string, string | null> | undefined;
    return r
      ? {
          metrics: JSON.parse(r.metrics!),
          cwes: JSON.parse(r.cwes ?? '[]'),
          published: r.published ?? undefined,
          description: r.description ?? undefined,
        }
      : undefined;
  }
}
