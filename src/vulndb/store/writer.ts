import type Database from 'better-sqlite3';
import type { OsvRecord } from '../osv-model.js';
import { json, rowToSource, type AffectedRow, type KevEntry, type SourceStatus } from './schema.js';

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
