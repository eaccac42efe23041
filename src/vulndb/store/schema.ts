import type Database from 'better-sqlite3';
import { CustomsError } from '../../errors.js';
import type { OsvAffected } from '../osv-model.js';

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

export const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));
export const parse = <T>(v: unknown): T | undefined =>
  typeof v === 'string' ? (JSON.parse(v) as T) : undefined;

export function migrate(db: Database.Database): void {
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

export function rowToSource(r: unknown): SourceStatus | undefined {
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
