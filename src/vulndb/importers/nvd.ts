import type { StoreWriter } from '../store.js';
import { isObject, type ImportCounts, type Importer, type ParsedFile } from './importer.js';

/** NVD CVE API 2.0 responses (and the yearly JSON 2.0 feeds): CVSS metrics and CWEs per CVE. */
export const nvdImporter: Importer = {
  name: 'nvd',
  claims: (f: ParsedFile) =>
    isObject(f.data) &&
    Array.isArray(f.data.vulnerabilities) &&
    isObject(f.data.vulnerabilities[0]) &&
    isObject((f.data.vulnerabilities[0] as { cve?: unknown }).cve),
  import(f: ParsedFile, w: StoreWriter, counts: ImportCounts) {
    for (const v of (f.data as { vulnerabilities: unknown[] }).vulnerabilities) putNvdItem(v, w, counts);
  },
};

/** One element of `vulnerabilities` (also used by the streaming import of a whole yearly feed). */
export function putNvdItem(v: unknown, w: StoreWriter, counts: ImportCounts): void {
  const cve = (v as { cve?: Record<string, unknown> } | undefined)?.cve;
  if (!isObject(cve) || typeof cve.id !== 'string') {
    counts.skipped++;
    return;
  }
  const weaknesses = Array.isArray(cve.weaknesses) ? cve.weaknesses : [];
  const cwes = weaknesses
    .flatMap((x: { description?: Array<{ value?: string }> }) =>
      (x.description ?? []).map((d) => d.value ?? ''),
    )
    .filter((c: string) => /^CWE-\d+$/.test(c));
  const desc = Array.isArray(cve.descriptions)
    ? (cve.descriptions as Array<{ lang: string; value: string }>).find((d) => d.lang === 'en')?.value
    : undefined;
  w.putCvss(
    cve.id,
    cve.metrics ?? {},
    [...new Set(cwes)],
    typeof cve.published === 'string' ? cve.published : undefined,
    desc,
  );
  counts.records++;
}
