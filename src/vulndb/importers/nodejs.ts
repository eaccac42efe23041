import semver from 'semver';
import { nodejs } from '../../ecosystems/nodejs.js';
import type { StoreWriter } from '../store.js';
import { isObject, type ImportCounts, type Importer, type ParsedFile } from './importer.js';

/*
 * Node.js's own security data: the core vulnerabilities the Node.js security working group
 * publishes (`vuln/core/N.json` of nodejs/security-wg): the CVEs, and two semver ranges over
 * Node.js releases, `vulnerable` and `patched`. A release is affected when it satisfies the first
 * and not the second. The ranges are kept as written (ecosystem `Node.js`, package `node`) and read
 * with the `semver` package at match time: they are npm's range syntax, which OSV events cannot
 * always express ("18.x" vulnerable, "^18.14.1" patched). A binary node found by the classifier
 * is matched against this data, not NVD's CPE ranges, when the database holds it.
 */

/** Its records' ecosystem (ecosystems/nodejs.ts). */
export const NODE_ECOSYSTEM = nodejs.osv;

export const nodejsImporter: Importer = {
  name: 'nodejs-security-wg',
  claims: (f: ParsedFile) =>
    isObject(f.data) &&
    typeof (f.data as { vulnerable?: unknown }).vulnerable === 'string' &&
    Array.isArray((f.data as { cve?: unknown }).cve) &&
    /(^|\/)vuln\/core\/\d+\.json$|(^|\/)\d+\.json$/.test(f.name),
  import(f: ParsedFile, w: StoreWriter, counts: ImportCounts) {
    const d = f.data as {
      cve: unknown[];
      vulnerable: string;
      patched?: unknown;
      ref?: unknown;
      overview?: unknown;
      severity?: unknown;
      reported?: unknown;
    };
    const n = /(\d+)\.json$/.exec(f.name)?.[1];
    const patched = typeof d.patched === 'string' && d.patched.trim() ? d.patched : undefined;
    if (!n || !semver.validRange(d.vulnerable) || (patched && !semver.validRange(patched))) {
      counts.skipped++;
      counts.warnings.push(`${f.name}: not a Node.js core vulnerability with readable ranges; skipped`);
      return;
    }
    const cves = d.cve.filter((c): c is string => typeof c === 'string' && /^CVE-\d{4}-\d+$/.test(c));
    w.putAdvisory(
      'nodejs-security-wg',
      {
        id: `NSWG-CORE-${n}`,
        modified: typeof d.reported === 'string' ? d.reported : '',
        aliases: cves,
        details: typeof d.overview === 'string' ? d.overview : undefined,
        database_specific: typeof d.severity === 'string' ? { severity: d.severity } : undefined,
        references: typeof d.ref === 'string' ? [{ type: 'ADVISORY', url: d.ref }] : [],
      },
      [
        {
          ecosystem: NODE_ECOSYSTEM,
          ecoBase: NODE_ECOSYSTEM,
          ecoRelease: '',
          package: 'node',
          packageRaw: 'node',
          ranges: [],
          ecosystemSpecific: { vulnerable: d.vulnerable, ...(patched ? { patched } : {}) },
          status: 'affected',
        },
      ],
    );
    counts.records++;
  },
};

/**
 * A Node.js release as the binary names it (`18.12.1`, `v20.11.0`). Checked, never coerced: coercion
 * made `v99999999999999999999.0.0` a 0.0.0 that old advisories flagged, and `18.<20 digits>.1` an
 * 18.0.0 reported with a "fix" below the version found.
 */
const RELEASE = /^v?(?:0|[1-9]\d{0,5})\.(?:0|[1-9]\d{0,5})\.(?:0|[1-9]\d{0,5})$/;

/** Is this release affected by the row's ranges, and the lowest patched release above it. */
export function nodeVerdict(
  version: string,
  ranges: { vulnerable?: unknown; patched?: unknown } | undefined,
): { affected: boolean; fixedVersion?: string } {
  // Not a release: not matched (a finding on a version nobody released would be noise or a lie).
  const v = RELEASE.test(version) ? semver.valid(version) : null;
  const vulnerable = typeof ranges?.vulnerable === 'string' ? ranges.vulnerable : undefined;
  const patched = typeof ranges?.patched === 'string' ? ranges.patched : undefined;
  if (!v || !vulnerable || !semver.satisfies(v, vulnerable) || (patched && semver.satisfies(v, patched)))
    return { affected: false };
  // Each `||` clause of the patched range starts at a release: the lowest above this one.
  const fixes = (patched ?? '')
    .split('||')
    .map((c) => {
      try {
        return semver.minVersion(c.trim())?.version;
      } catch {
        return undefined;
      }
    })
    .filter((x): x is string => !!x && semver.gt(x, v))
    .sort(semver.compare);
  return { affected: true, fixedVersion: fixes[0] };
}
