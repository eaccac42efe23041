import type { StoreWriter } from '../store.js';
import { isObject, type ImportCounts, type Importer, type ParsedFile } from './importer.js';

/** CISA's Known Exploited Vulnerabilities catalog (JSON). */
export const kevImporter: Importer = {
  name: 'kev',
  claims: (f: ParsedFile) =>
    isObject(f.data) &&
    Array.isArray(f.data.vulnerabilities) &&
    ('catalogVersion' in f.data ||
      (isObject(f.data.vulnerabilities[0]) && 'cveID' in f.data.vulnerabilities[0])),
  import(f: ParsedFile, w: StoreWriter, counts: ImportCounts) {
    w.db.exec('DELETE FROM kev'); // the catalog is published whole
    for (const v of (f.data as { vulnerabilities: unknown[] }).vulnerabilities) {
      if (!isObject(v) || typeof v.cveID !== 'string' || !/^CVE-\d{4}-\d+$/.test(v.cveID)) {
        counts.skipped++;
        continue;
      }
      const s = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
      w.putKev({
        cve: v.cveID,
        vendor: s('vendorProject'),
        product: s('product'),
        name: s('vulnerabilityName'),
        dateAdded: s('dateAdded'),
        dueDate: s('dueDate'),
        ransomware: s('knownRansomwareCampaignUse'),
        action: s('requiredAction'),
        notes: s('notes'),
      });
      counts.records++;
    }
  },
};
