import { schemeForEcosystem } from '../../versions/index.js';
import { normalizePackageName, splitEcosystem } from '../../ecosystems/index.js';
import { type OsvAffected, type OsvRange, type OsvRecord } from '../osv-model.js';
import type { AffectedRow, StoreWriter } from '../store.js';
import { isObject, type ImportCounts, type Importer, type ParsedFile } from './importer.js';

const ID = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$/;
const MAX_VERSION = 256;

/** A version string we are willing to store: short and printable. */
export function saneVersion(v: unknown): v is string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_VERSION && !/[\u0000-\u001f\u007f]/.test(v);
}

function cleanRanges(ranges: unknown, problems: string[]): OsvRange[] {
  if (!Array.isArray(ranges)) return [];
  const out: OsvRange[] = [];
  for (const r of ranges) {
    if (!isObject(r) || !Array.isArray(r.events)) {
      problems.push('a range without events');
      continue;
    }
    // GIT ranges name commits, which installed packages do not carry; the ecosystem ranges beside them do.
    if (r.type === 'GIT') continue;
    if (r.type !== 'ECOSYSTEM' && r.type !== 'SEMVER') {
      problems.push(`range type ${String(r.type)} ignored`);
      continue;
    }
    const events = [];
    let usable = true;
    for (const e of r.events) {
      const [k, v] = isObject(e) ? (Object.entries(e)[0] ?? []) : [];
      if (!['introduced', 'fixed', 'last_affected', 'limit'].includes(k as string) || !saneVersion(v)) {
        usable = false;
        break;
      }
      events.push({ [k as string]: v as string });
    }
    // Dropping one bad event would widen the range (a lost "fixed" means every later version),
    // so a range with any unusable event is dropped whole.
    if (!usable) {
      problems.push(`a range with an unusable event was left out`);
      continue;
    }
    if (events.some((e) => 'introduced' in e)) out.push({ type: r.type, events });
    else problems.push('a range with no introduced event');
  }
  return out;
}

/** OSV's affected[] entries as store rows; entries we cannot use are reported and left out. */
export function affectedRows(rec: OsvRecord, problems: string[]): Array<Omit<AffectedRow, 'source' | 'id'>> {
  const rows: Array<Omit<AffectedRow, 'source' | 'id'>> = [];
  for (const a of (Array.isArray(rec.affected) ? rec.affected : []) as OsvAffected[]) {
    if (
      !isObject(a) ||
      !isObject(a.package) ||
      typeof a.package.ecosystem !== 'string' ||
      typeof a.package.name !== 'string'
    ) {
      problems.push('an affected entry without a package');
      continue;
    }
    const eco = a.package.ecosystem;
    if (!schemeForEcosystem(eco)) {
      problems.push(`unknown ecosystem "${eco}"`);
      continue;
    }
    const ranges = cleanRanges(a.ranges, problems);
    const versions = Array.isArray(a.versions) ? a.versions.filter(saneVersion) : undefined;
    if (ranges.length === 0 && !versions?.length) {
      problems.push(`${eco}/${a.package.name}: no ecosystem range or version list`);
      continue;
    }
    const { base, release } = splitEcosystem(eco);
    rows.push({
      ecosystem: eco,
      ecoBase: base,
      ecoRelease: release,
      package: normalizePackageName(eco, a.package.name),
      packageRaw: a.package.name,
      purl: typeof a.package.purl === 'string' ? a.package.purl : undefined,
      ranges,
      versions: versions?.length ? versions : undefined,
      severity: Array.isArray(a.severity) ? a.severity : undefined,
      ecosystemSpecific: isObject(a.ecosystem_specific) ? a.ecosystem_specific : undefined,
      databaseSpecific: isObject(a.database_specific) ? a.database_specific : undefined,
      status: 'affected',
    });
  }
  return rows;
}

export function isOsvRecord(data: unknown): data is OsvRecord {
  return (
    isObject(data) &&
    typeof data.id === 'string' &&
    ('affected' in data || 'modified' in data) &&
    !('distroversion' in data)
  );
}

export const osvImporter: Importer = {
  name: 'osv',
  claims: (f: ParsedFile) => isOsvRecord(f.data),
  sourceOf(f: ParsedFile) {
    const rec = f.data as OsvRecord;
    const first = Array.isArray(rec.affected)
      ? rec.affected.find((a) => isObject(a) && isObject(a.package))
      : undefined;
    const eco = first?.package?.ecosystem;
    return `osv:${typeof eco === 'string' ? splitEcosystem(eco).base : 'unknown'}`;
  },
  import(f: ParsedFile, w: StoreWriter, counts: ImportCounts) {
    const rec = f.data as OsvRecord;
    if (!ID.test(rec.id)) {
      counts.skipped++;
      counts.warnings.push(
        `${f.name}: id "${String(rec.id).slice(0, 40)}" is not a valid advisory id; skipped`,
      );
      return;
    }
    const problems: string[] = [];
    const rows = affectedRows(rec, problems);
    if (rows.length === 0 && !rec.withdrawn) {
      counts.skipped++;
      counts.warnings.push(
        `${f.name} (${rec.id}): nothing usable (${problems.slice(0, 2).join('; ') || 'no affected packages'}); skipped`,
      );
      return;
    }
    if (problems.length && !rec.withdrawn)
      counts.warnings.push(`${f.name} (${rec.id}): ${problems.slice(0, 3).join('; ')}`);
    const clean: OsvRecord = {
      ...rec,
      aliases: Array.isArray(rec.aliases) ? rec.aliases.filter((a) => typeof a === 'string') : [],
    };
    if (w.putAdvisory('osv', clean, rows)) counts.records++;
    else counts.skipped++;
  },
};
