import { fastXml } from '../../catalog/lazy-parsers.js';
import type { StoreWriter } from '../store.js';
import type { ImportCounts, Importer, ParsedFile } from './importer.js';
import { saneVersion } from './osv.js';

/*
 * Amazon Linux security advisories (ALAS) as Amazon publishes them in each release's yum
 * repository metadata (`updateinfo.xml`, the format yum and dnf read): one <update> per advisory,
 * its CVEs as <reference type="cve">, and in <pkglist> every binary rpm that fixes it, with epoch,
 * version and release. A package is affected below that epoch:version-release in that release.
 * The release comes from the advisory id: ALAS2023-… is Amazon Linux 2023, ALAS2-… Amazon Linux 2,
 * ALAS-… Amazon Linux 1 (2018.03); Extras topics (ALAS2EXTRAS…) name their topic's release, 2.
 */

interface Package {
  name?: string;
  epoch?: string;
  version?: string;
  release?: string;
  arch?: string;
}
interface Update {
  id?: string;
  title?: string;
  severity?: string;
  description?: string;
  issued?: { date?: string };
  updated?: { date?: string };
  references?: { reference?: Array<{ id?: string; type?: string; href?: string }> };
  pkglist?: { collection?: Array<{ package?: Package[] }> };
}

export function alasRelease(id: string): string | undefined {
  const m = /^ALAS(2023|2022|2)?(?:[A-Z][A-Z0-9]*)?-\d{4}-\d+$/.exec(id);
  if (!m) return undefined;
  return m[1] ?? '1';
}

/** updateinfo dates read "2023-05-31 20:43:00" (UTC); anything unreadable is left out. */
function date(d?: string): string | undefined {
  if (typeof d !== 'string') return undefined;
  const utc = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?$/.test(d.trim())
    ? `${d.trim().replace(' ', 'T')}Z`
    : d;
  const t = Date.parse(utc);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

export const alasImporter: Importer = {
  name: 'alas',
  claims: (f: ParsedFile) =>
    typeof f.text === 'string' && /<updates[\s>]/.test(f.text.slice(0, 2000)) && /<id>ALAS/.test(f.text),
  import(f: ParsedFile, w: StoreWriter, counts: ImportCounts) {
    const valid = fastXml().XMLValidator.validate(f.text!);
    if (valid !== true) throw new Error(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
    const doc = new (fastXml().XMLParser)({
      ignoreAttributes: false,
      attributeNamePrefix: '',
      parseTagValue: false,
      parseAttributeValue: false,
      isArray: (name) => ['update', 'reference', 'collection', 'package'].includes(name),
    }).parse(f.text!) as { updates?: { update?: Update[] } };
    for (const u of doc.updates?.update ?? []) {
      const id = typeof u.id === 'string' ? u.id.trim() : '';
      const release = alasRelease(id);
      if (!release) {
        counts.skipped++;
        counts.warnings.push(`${f.name}: "${id.slice(0, 40)}" is not an ALAS id; skipped`);
        continue;
      }
      const ecosystem = `Amazon Linux:${release}`;
      const cves = (u.references?.reference ?? [])
        .filter((r) => r.type === 'cve' && typeof r.id === 'string' && /^CVE-\d{4}-\d+$/.test(r.id))
        .map((r) => r.id!);
      // Each binary rpm once (the same fix is listed per architecture).
      const fixes = new Map<string, string>();
      for (const c of u.pkglist?.collection ?? [])
        for (const p of c.package ?? []) {
          if (!p.name || !p.version || !p.release) continue;
          const v = `${p.epoch && p.epoch !== '0' ? `${p.epoch}:` : ''}${p.version}-${p.release}`;
          if (saneVersion(v)) fixes.set(p.name, v);
        }
      if (!fixes.size) {
        counts.skipped++;
        continue;
      }
      w.putAdvisory(
        'alas',
        {
          id,
          modified: date(u.updated?.date) ?? date(u.issued?.date) ?? '',
          published: date(u.issued?.date),
          aliases: cves,
          summary: typeof u.title === 'string' ? u.title.trim() : undefined,
          details: typeof u.description === 'string' ? u.description.trim() : undefined,
          database_specific: u.severity ? { severity: String(u.severity).trim() } : undefined,
          references: (u.references?.reference ?? [])
            .filter((r) => typeof r.href === 'string')
            .map((r) => ({ type: 'ADVISORY', url: r.href! })),
        },
        [...fixes].map(([name, fixed]) => ({
          ecosystem,
          ecoBase: 'Amazon Linux',
          ecoRelease: release,
          package: name,
          packageRaw: name,
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }],
          status: 'affected',
        })),
      );
      counts.records++;
    }
  },
};
