import { CPE_PRODUCTS } from '../../ecosystems/index.js';
import { cpe } from '../../ecosystems/cpe.js';
import type { StoreWriter } from '../store.js';
import { saneVersion } from './osv.js';
import { isObject, type ImportCounts, type Importer, type ParsedFile } from './importer.js';

/** NVD's CPE ranges are stored under this ecosystem (ecosystems/cpe.ts). */
const CPE_ECOSYSTEM = cpe.osv;

/** `cpe:2.3:a:nodejs:node.js:18.12.1:*:…` → its part, vendor:product and version (CPE 2.3 escapes undone). */
export function parseCpe(
  criteria: string,
): { part: string; product: string; version: string; update: string } | undefined {
  if (!criteria.startsWith('cpe:2.3:')) return undefined;
  // Split on colons not escaped with a backslash.
  const fields = criteria
    .slice(8)
    .split(/(?<!\\):/)
    .map((f) => f.replace(/\\(.)/g, '$1'));
  if (fields.length < 5) return undefined;
  const [part, vendor, product, version, update] = fields;
  return { part, product: `${vendor}:${product}`.toLowerCase(), version, update: update ?? '*' };
}

/** Only the vendor:product pairs some binary classifier names are kept (ecosystems/cpe.ts). */
const WANTED = new Set(Object.values(CPE_PRODUCTS).flat());
export function wantedProduct(product: string): boolean {
  return WANTED.has(product);
}

/**
 * NVD CVE API 2.0 responses (and the yearly JSON 2.0 feeds): CVSS metrics and CWEs per CVE, and
 * the CPE match criteria of the products the binary classifiers identify (src/match/cpe.ts).
 */
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
  const affected = cpeAffected(cve.configurations);
  if (affected.length)
    w.putAdvisory(
      'nvd',
      {
        id: cve.id,
        modified: typeof cve.lastModified === 'string' ? cve.lastModified : '',
        published: typeof cve.published === 'string' ? cve.published : undefined,
        aliases: [],
        details: desc,
        references: [{ type: 'WEB', url: `https://nvd.nist.gov/vuln/detail/${cve.id}` }],
      },
      affected.map(([product, ranges]) => ({
        ecosystem: CPE_ECOSYSTEM,
        ecoBase: CPE_ECOSYSTEM,
        ecoRelease: '',
        package: product,
        packageRaw: product,
        ranges,
        status: 'affected',
      })),
    );
  counts.records++;
}

type Range = { type: 'ECOSYSTEM'; events: Array<Record<string, string>> };
interface CpeMatch {
  vulnerable?: boolean;
  criteria?: string;
  versionStartIncluding?: string;
  versionStartExcluding?: string;
  versionEndIncluding?: string;
  versionEndExcluding?: string;
}

/**
 * The vulnerable application CPEs of the products Customs can identify, as OSV-style ranges per
 * vendor:product. A criteria's own version (`…:node.js:18.12.1:…`) is that version alone; its
 * version bounds become introduced / fixed (end excluded) / last_affected (end included). A start
 * excluded is read as included (OSV ranges have no such bound; NVD rarely uses it).
 */
export function cpeAffected(configurations: unknown): Array<[string, Range[]]> {
  const out = new Map<string, Range[]>();
  const nodes = Array.isArray(configurations)
    ? configurations.flatMap((c: { nodes?: unknown }) => (Array.isArray(c?.nodes) ? c.nodes : []))
    : [];
  for (const node of nodes as Array<{ negate?: boolean; cpeMatch?: unknown }>) {
    if (node?.negate || !Array.isArray(node?.cpeMatch)) continue;
    for (const m of node.cpeMatch as CpeMatch[]) {
      if (!m?.vulnerable || typeof m.criteria !== 'string') continue;
      const c = parseCpe(m.criteria);
      if (!c || c.part !== 'a' || !wantedProduct(c.product)) continue;
      const str = (v: unknown) => (typeof v === 'string' && saneVersion(v) ? v : undefined);
      const events: Array<Record<string, string>> = [];
      if (c.version !== '*' && c.version !== '-') {
        const v = str(c.update !== '*' && c.update !== '-' ? `${c.version}${c.update}` : c.version);
        if (!v) continue;
        events.push({ introduced: v }, { last_affected: v });
      } else {
        const start = str(m.versionStartIncluding ?? m.versionStartExcluding);
        const fixed = str(m.versionEndExcluding);
        const last = str(m.versionEndIncluding);
        if ((m.versionEndExcluding && !fixed) || (m.versionEndIncluding && !last)) continue;
        events.push({ introduced: start ?? '0' });
        if (fixed) events.push({ fixed });
        else if (last) events.push({ last_affected: last });
      }
      // Appended in place: copying the list per match made a CVE with 200k entries quadratic.
      let ranges = out.get(c.product);
      if (!ranges) out.set(c.product, (ranges = []));
      ranges.push({ type: 'ECOSYSTEM', events });
    }
  }
  return [...out];
}
