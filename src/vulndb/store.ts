import Database from 'better-sqlite3';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CustomsError } from '../errors.js';
import { normalizePackageName, splitEcosystem, type OsvAffected, type OsvRecord } from './osv-model.js';

/** Bump with every change to the tables below, and add a migration step for it. */
export const SCHEMA_VERSION = 1;

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE sources (
      name TEXT PRIMARY KEY, kind TEXT NOT NULL, location TEXT, etag TEXT, last_modified TEXT,
      updated_at TEXT, records INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL DEFAULT 'ok', error TEXT);
    CREATE TABLE advisories (
      source TEXT NOT NULL, id TEXT NOT NULL, modified TEXT, published TEXT, withdrawn TEXT,
      summary TEXT, details TEXT, severity TEXT, database_specific TEXT, refs TEXT, related TEXT,
      PRIMARY KEY (source, id));
    CREATE TABLE aliases (source TEXT NOT NULL, id TEXT NOT NULL, alias TEXT NOT NULL, PRIMARY KEY (source, id, alias));
    CREATE INDEX aliases_by_alias ON aliases (alias);
    CREATE TABLE affected (
      source TEXT NOT NULL, id TEXT NOT NULL, ecosystem TEXT NOT NULL, eco_base TEXT NOT NULL, eco_release TEXT NOT NULL,
      package TEXT NOT NULL, package_raw TEXT NOT NULL, purl TEXT, ranges TEXT, versions TEXT, severity TEXT,
      ecosystem_specific TEXT, database_specific TEXT,
      status TEXT NOT NULL DEFAULT 'affected');
    CREATE INDEX affected_by_package ON affected (eco_base, package);
    CREATE INDEX affected_by_id ON affected (source, id);
    CREATE TABLE kev (
      cve TEXT PRIMARY KEY, vendor TEXT, product TEXT, name TEXT, date_added TEXT, due_date TEXT,
      ransomware TEXT, action TEXT, notes TEXT);
    CREATE TABLE epss (cve TEXT PRIMARY KEY, score REAL NOT NULL, percentile REAL NOT NULL, date TEXT);
    CREATE TABLE cvss (cve TEXT PRIMARY KEY, metrics TEXT NOT NULL, cwes TEXT, published TEXT, description TEXT);
    CREATE TABLE downloads (url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, fetched_at TEXT);
  `,
};

export interface AffectedRow {
  source: string;
  id: string;
  ecosystem: string;
  ecoBase: string;
  ecoRelease: string;
  package: string;
  packageRaw: string;
  purl?: string;
  ranges: OsvAffected['ranges'];
  versions?: string[];
  severity?: OsvAffected['severity'];
  ecosystemSpecific?: Record<string, unknown>;
  databaseSpecific?: Record<string, unknown>;
  /** fixed/affected per the ranges, or a distro's verdict: will_not_fix, end_of_life, not_affected. */
  status: string;
}

export interface KevEntry {
  cve: string;
  vendor?: string;
  product?: string;
  name?: string;
  dateAdded?: string;
  dueDate?: string;
  ransomware?: string;
  action?: string;
  notes?: string;
}

export interface SourceStatus {
  name: string;
  kind: string;
  location?: string;
  etag?: string;
  lastModified?: string;
  updatedAt?: string;
  records: number;
  status: string;
  error?: string;
}

const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));
const parse = <T>(v: unknown): T | undefined => (typeof v === 'string' ? (JSON.parse(v) as T) : undefined);

function migrate(db: Database.Database): void {
  const has = db.prepare("SELECT name FROM sqlite_master WHERE type='table' AND name='meta'").get();
  let version = has
    ? Number(
        (
          db.prepare("SELECT value FROM meta WHERE key='schema_version'").get() as
            { value?: string } | undefined
        )?.value ?? 0,
      )
    : 0;
  if (version > SCHEMA_VERSION) {
    throw new CustomsError(
      `the database has schema ${version}, newer than this Customs understands (${SCHEMA_VERSION}); upgrade Customs or run customs db update`,
    );
  }
  while (version < SCHEMA_VERSION) {
    version++;
    db.exec(MIGRATIONS[version]);
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)").run(String(version));
  }
}

/** Writes to a private copy of the database; `VulnStore.update` swaps it in when all went well. */
export class StoreWriter {
  private readonly insAdvisory;
  private readonly delAffected;
  private readonly delAliases;
  private readonly insAffected;
  private readonly insAlias;
  private readonly getModified;
  readonly warnings: string[] = [];

  constructor(readonly db: Database.Database) {
    this.insAdvisory = db.prepare(`INSERT OR REPLACE INTO advisories
      (source, id, modified, published, withdrawn, summary, details, severity, database_specific, refs, related)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.delAffected = db.prepare('DELETE FROM affected WHERE source = ? AND id = ?');
    this.delAliases = db.prepare('DELETE FROM aliases WHERE source = ? AND id = ?');
    this.insAffected = db.prepare(`INSERT INTO affected
      (source, id, ecosystem, eco_base, eco_release, package, package_raw, purl, ranges, versions, severity, ecosystem_specific, database_specific, status)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.insAlias = db.prepare('INSERT OR IGNORE INTO aliases (source, id, alias) VALUES (?, ?, ?)');
    this.getModified = db.prepare('SELECT modified FROM advisories WHERE source = ? AND id = ?');
  }

  /**
   * Store one advisory with its affected packages, replacing an older copy; a copy that is newer
   * than the one given is kept. Returns false when skipped as older.
   */
  putAdvisory(source: string, rec: OsvRecord, affected: Array<Omit<AffectedRow, 'source' | 'id'>>): boolean {
    const prev = this.getModified.get(source, rec.id) as { modified?: string } | undefined;
    if (prev?.modified && rec.modified && prev.modified > rec.modified) return false;
    this.insAdvisory.run(
      source,
      rec.id,
      rec.modified ?? null,
      rec.published ?? null,
      rec.withdrawn ?? null,
      rec.summary ?? null,
      rec.details ?? null,
      json(rec.severity),
      json(rec.database_specific),
      json(rec.references),
      json(rec.related),
    );
    this.delAffected.run(source, rec.id);
    this.delAliases.run(source, rec.id);
    for (const a of rec.aliases ?? []) this.insAlias.run(source, rec.id, a);
    for (const a of affected) {
      this.insAffected.run(
        source,
        rec.id,
        a.ecosystem,
        a.ecoBase,
        a.ecoRelease,
        a.package,
        a.packageRaw,
        a.purl ?? null,
        json(a.ranges),
        json(a.versions),
        json(a.severity),
        json(a.ecosystemSpecific),
        json(a.databaseSpecific),
        a.status,
      );
    }
    return true;
  }

  /** Add affected rows to an advisory built up piecewise (distro feeds list one package at a time). */
  addAffected(source: string, id: string, row: Omit<AffectedRow, 'source' | 'id'>): void {
    if (!this.getModified.get(source, id)) {
      this.insAdvisory.run(source, id, null, null, null, null, null, null, null, null, null);
    }
    this.insAffected.run(
      source,
      id,
      row.ecosystem,
      row.ecoBase,
      row.ecoRelease,
      row.package,
      row.packageRaw,
      row.purl ?? null,
      json(row.ranges),
      json(row.versions),
      json(row.severity),
      json(row.ecosystemSpecific),
      json(row.databaseSpecific),
      row.status,
    );
  }

  /** Drop everything a source contributed (before re-importing a distro feed wholesale). */
  clearSource(source: string, where?: { ecosystem: string }): void {
    if (where) {
      this.db.prepare('DELETE FROM affected WHERE source = ? AND ecosystem = ?').run(source, where.ecosystem);
      this.db
        .prepare(
          'DELETE FROM advisories WHERE source = ? AND id NOT IN (SELECT id FROM affected WHERE source = ?)',
        )
        .run(source, source);
      return;
    }
    for (const t of ['affected', 'aliases', 'advisories'])
      this.db.prepare(`DELETE FROM ${t} WHERE source = ?`).run(source);
  }

  putKev(e: KevEntry): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO kev (cve, vendor, product, name, date_added, due_date, ransomware, action, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        e.cve,
        e.vendor ?? null,
        e.product ?? null,
        e.name ?? null,
        e.dateAdded ?? null,
        e.dueDate ?? null,
        e.ransomware ?? null,
        e.action ?? null,
        e.notes ?? null,
      );
  }

  putEpss(cve: string, score: number, percentile: number, date?: string): void {
    this.db
      .prepare('INSERT OR REPLACE INTO epss (cve, score, percentile, date) VALUES (?, ?, ?, ?)')
      .run(cve, score, percentile, date ?? null);
  }

  putCvss(cve: string, metrics: unknown, cwes: string[], published?: string, description?: string): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO cvss (cve, metrics, cwes, published, description) VALUES (?, ?, ?, ?, ?)',
      )
      .run(cve, JSON.stringify(metrics), JSON.stringify(cwes), published ?? null, description ?? null);
  }

  setDownload(url: string, etag?: string, lastModified?: string): void {
    this.db
      .prepare('INSERT OR REPLACE INTO downloads (url, etag, last_modified, fetched_at) VALUES (?, ?, ?, ?)')
      .run(url, etag ?? null, lastModified ?? null, new Date().toISOString());
  }

  setSource(s: SourceStatus): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO sources (name, kind, location, etag, last_modified, updated_at, records, status, error)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        s.name,
        s.kind,
        s.location ?? null,
        s.etag ?? null,
        s.lastModified ?? null,
        s.updatedAt ?? new Date().toISOString(),
        s.records,
        s.status,
        s.error ?? null,
      );
  }

  /** How many records a source holds now: advisories per OSV ecosystem, entries of a distro feed, rows of KEV/EPSS/NVD. */
  recordsOf(name: string): number {
    const n = (sql: string, ...args: string[]) => (this.db.prepare(sql).get(...args) as { n: number }).n;
    if (name.startsWith('osv:'))
      return n(
        "SELECT COUNT(DISTINCT id) AS n FROM affected WHERE source = 'osv' AND eco_base = ?",
        name.slice(4),
      );
    if (name === 'kev') return n('SELECT COUNT(*) AS n FROM kev');
    if (name === 'epss') return n('SELECT COUNT(*) AS n FROM epss');
    if (name === 'nvd') return n('SELECT COUNT(*) AS n FROM cvss');
    return n('SELECT COUNT(*) AS n FROM affected WHERE source = ?', name);
  }

  source(name: string): SourceStatus | undefined {
    return rowToSource(this.db.prepare('SELECT * FROM sources WHERE name = ?').get(name));
  }
}

function rowToSource(r: unknown): SourceStatus | undefined {
  if (!r) return undefined;
  const x = r as Record<string, string | number | null>;
  return {
    name: String(x.name),
    kind: String(x.kind),
    location: (x.location as string) ?? undefined,
    etag: (x.etag as string) ?? undefined,
    lastModified: (x.last_modified as string) ?? undefined,
    updatedAt: (x.updated_at as string) ?? undefined,
    records: Number(x.records),
    status: String(x.status),
    error: (x.error as string) ?? undefined,
  };
}

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

/**
 * Temporary files a killed writer left beside the database (`customs.db.tmp-PID`, its journal, a
 * half-downloaded bundle or delta): removed when their writer is gone.
 */
export function removeStale(path: string): void {
  const dir = dirname(path);
  const base = basename(path);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^\.(?:tmp|bundle|download|delta|publish)-(\d+)(?:[-.].*)?$/.exec(n.slice(base.length));
    if (!n.startsWith(base) || !m) continue;
    if (Number(m[1]) !== process.pid && alive(Number(m[1]))) continue;
    rmSync(join(dir, n), { force: true, recursive: true });
  }
}

/**
 * One writer at a time, the next waiting for its turn (up to `waitMs`): a lock file holding the
 * writer's pid; a dead writer's lock is taken over.
 */
export async function lockWait(path: string, waitMs = 15 * 60_000): Promise<() => void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return lock(path);
    } catch (err) {
      if (
        !(err instanceof CustomsError) ||
        !/another Customs process/.test(err.message) ||
        Date.now() > deadline
      )
        throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** One writer at a time: a lock file holding the writer's pid; a dead writer's lock is taken over. */
export function lock(path: string): () => void {
  const file = `${path}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(file, 'utf8'));
      if (pid && pid !== process.pid && alive(pid)) {
        throw new CustomsError(`another Customs process (pid ${pid}) is updating the database at ${path}`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new CustomsError(`cannot lock the database at ${path}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export { splitEcosystem };
