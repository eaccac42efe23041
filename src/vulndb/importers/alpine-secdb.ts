import type { StoreWriter } from '../store.js';
import { alpine } from '../../ecosystems/distros/alpine.js';
import { isObject, type ImportCounts, type Importer, type ParsedFile } from './importer.js';
import { saneVersion } from './osv.js';

/** The ecosystem its rows are stored under: the distro record's. */
const ALPINE = alpine.feed!.ecosystem;

interface SecdbFile {
  distroversion: string;
  reponame?: string;
  packages: Array<{ pkg: { name: string; secfixes?: Record<string, Array<string | null> | null> } }>;
}

/** Advisory ids in a secfixes entry; real entries also read "CVE 2018-16859", "CVE_2019-2426", "CVE-????-????? XSA-290". */
function idsIn(entry: string): string[] {
  const text = entry.replace(/\bCVE[ _](\d{4})/g, 'CVE-$1');
  return [...text.matchAll(/\b(CVE-\d{4}-\d{4,}|GHSA(?:-[0-9a-z]{4}){3}|XSA-\d+|ALPINE-\d+)\b/g)].map(
    (m) => m[1],
  );
}

/**
 * Alpine's secdb (`v3.x/main.json|yaml`): per branch and package, the fixed version that closed
 * each CVE. A package is affected below that version in that branch; fixed version "0" means
 * the branch never shipped the flaw.
 */
export const alpineSecdbImporter: Importer = {
  name: 'alpine-secdb',
  claims: (f: ParsedFile) =>
    isObject(f.data) && typeof f.data.distroversion === 'string' && 'packages' in f.data,
  import(f: ParsedFile, w: StoreWriter, counts: ImportCounts) {
    const db = f.data as SecdbFile;
    const ecosystem = `${ALPINE}:${db.distroversion}`;
    for (const entry of Array.isArray(db.packages) ? db.packages : []) {
      const pkg = entry?.pkg;
      if (!isObject(pkg) || typeof pkg.name !== 'string') {
        counts.skipped++;
        continue;
      }
      // Re-importing a branch replaces that package's rows.
      w.db
        .prepare("DELETE FROM affected WHERE source = 'alpine-secdb' AND ecosystem = ? AND package = ?")
        .run(ecosystem, pkg.name);
      for (const [fixed, ids] of Object.entries(pkg.secfixes ?? {})) {
        if (!saneVersion(fixed) || !Array.isArray(ids)) {
          counts.warnings.push(
            `${f.name}: ${pkg.name}: unusable fixed version "${String(fixed).slice(0, 40)}"`,
          );
          counts.skipped++;
          continue;
        }
        for (const raw of ids) {
          const found = typeof raw === 'string' ? idsIn(raw) : [];
          if (found.length === 0) {
            if (raw)
              counts.warnings.push(
                `${f.name}: ${pkg.name} ${fixed}: "${String(raw).slice(0, 40)}" names no advisory id`,
              );
            counts.skipped++;
            continue;
          }
          for (const id of found) {
            const notAffected = fixed === '0';
            w.addAffected('alpine-secdb', id, {
              ecosystem,
              ecoBase: ALPINE,
              ecoRelease: db.distroversion,
              package: pkg.name,
              packageRaw: pkg.name,
              ranges: notAffected ? [] : [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }],
              ecosystemSpecific: db.reponame ? { repo: db.reponame } : undefined,
              status: notAffected ? 'not_affected' : 'affected',
            });
            counts.records++;
          }
        }
      }
    }
  },
};
