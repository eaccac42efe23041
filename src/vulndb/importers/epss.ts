import type { StoreWriter } from '../store.js';
import type { ImportCounts, Importer, ParsedFile } from './importer.js';

/** FIRST's daily EPSS scores: `#model_version:…,score_date:…` then `cve,epss,percentile` rows. */
export const epssImporter: Importer = {
  name: 'epss',
  claims: (f: ParsedFile) =>
    typeof f.text === 'string' && /^(#[^\n]*\n)?cve,epss,percentile\s*$/m.test(f.text.slice(0, 400)),
  import(f: ParsedFile, w: StoreWriter, counts: ImportCounts) {
    const text = f.text!;
    const date = /score_date:(\d{4}-\d{2}-\d{2})/.exec(text.slice(0, 400))?.[1];
    w.db.exec('DELETE FROM epss'); // a day's file replaces the last one
    let line = 0;
    for (const row of text.split('\n')) {
      line++;
      if (!row || row.startsWith('#') || row.startsWith('cve,')) continue;
      const [cve, score, pct] = row.trim().split(',');
      const s = Number(score);
      const p = Number(pct);
      if (!/^CVE-\d{4}-\d+$/.test(cve) || !(s >= 0 && s <= 1) || !(p >= 0 && p <= 1)) {
        counts.skipped++;
        if (counts.skipped <= 3) counts.warnings.push(`${f.name}: line ${line} is not "cve,epss,percentile"`);
        continue;
      }
      w.putEpss(cve, s, p, date);
      counts.records++;
    }
  },
};
