import { fastXml } from '../../catalog/lazy-parsers.js';
import { amazon } from '../../ecosystems/distros/amazon.js';
import { oracle } from '../../ecosystems/distros/oracle.js';
import type { StoreWriter } from '../store.js';
import type { ImportCounts, Importer, ParsedFile } from './importer.js';
import { saneVersion } from './osv.js';

/*
 * Errata from yum's updateinfo.xml, the format yum and dnf read from a repository's metadata, as
 * two distributions publish their security advisories in it:
 *
 * Amazon Linux security advisories (ALAS) as Amazon publishes them in each release's yum
 * repository metadata (`updateinfo.xml`, the format yum and dnf read): one <update> per advisory,
 * its CVEs as <reference type="cve">, and in <pkglist> every binary rpm that fixes it, with epoch,
 * version and release. A package is affected below that epoch:version-release in that release.
 * The release comes from the advisory id: ALAS2023-… is Amazon Linux 2023, ALAS2-… Amazon Linux 2,
 * ALAS-… Amazon Linux 1 (2018.03); Extras topics (ALAS2EXTRAS…) name their topic's release, 2.
 *
 * Oracle Linux errata (ELSA-YYYY-NNNN) as Oracle's yum repositories publish them: the same format,
 * but the id does not name the release. Each fixed rpm does, by its release tag (`.el8`, `.el9_2`,
 * `.el7uek`): the package is affected below that version in Oracle Linux of that major. Bug-fix and
 * enhancement errata (ELBA, ELEA) are not security advisories and are skipped.
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

/** Oracle Linux's major release from an rpm release tag (`1.el8_6` → 8). */
export function elRelease(release: string): string | undefined {
  return /\.el(\d+)/.exec(release)?.[1];
}

/** updateinfo.xml nests updates > update > pkglist > collection > package > filename. */
const MAX_DEPTH = 32;

/**
 * How deep elements nest, in one pass keeping nothing but a counter: stops counting past `max`.
 * Comments, CDATA, processing instructions and declarations are skipped.
 */
export function xmlDepth(text: string, max: number): number {
  let depth = 0;
  let deepest = 0;
  let i = text.indexOf('<');
  while (i >= 0 && i < text.length) {
    const next = text[i + 1];
    let end: number;
    if (text.startsWith('<!--', i)) end = text.indexOf('-->', i + 4) + 2;
    else if (text.startsWith('<![CDATA[', i)) end = text.indexOf(']]>', i + 9) + 2;
    else {
      end = text.indexOf('>', i + 1);
      if (end < 0) break;
      if (next === '/') depth--;
      else if (next !== '?' && next !== '!' && text[end - 1] !== '/') {
        depth++;
        if (depth > deepest) deepest = depth;
        if (deepest > max) return deepest;
      }
    }
    if (end < 2) break; // an unterminated comment or CDATA: the validator says so
    i = text.indexOf('<', end + 1);
  }
  return deepest;
}

interface Flavour {
  name: 'alas' | 'elsa';
  /** The text that tells this flavour's files apart. */
  marker: RegExp;
  ecoBase: string;
  validId(id: string): boolean;
  /** The release an advisory's fixed package belongs to, or undefined (not one of ours). */
  release(id: string, p: Required<Pick<Package, 'version' | 'release'>>): string | undefined;
  /** Advisories of this flavour that are not security advisories: skipped without a warning. */
  notSecurity?: RegExp;
}

function updateinfoImporter(fl: Flavour): Importer {
  return {
    name: fl.name,
    claims: (f: ParsedFile) =>
      typeof f.text === 'string' && /<updates[\s>]/.test(f.text.slice(0, 2000)) && fl.marker.test(f.text),
    import(f: ParsedFile, w: StoreWriter, counts: ImportCounts) {
      // Before any pass that keeps state per element: the validator's stack grew with the nesting
      // (400 MB of nested tags took 3.8 GB).
      const depth = xmlDepth(f.text!, MAX_DEPTH);
      if (depth > MAX_DEPTH)
        throw new Error(`nested deeper than ${MAX_DEPTH} elements; refused (updateinfo.xml nests 6 deep)`);
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
        if (fl.notSecurity?.test(id)) {
          counts.skipped++;
          continue;
        }
        if (!fl.validId(id)) {
          counts.skipped++;
          counts.warnings.push(
            `${f.name}: "${id.slice(0, 40)}" is not an ${fl.name.toUpperCase()} id; skipped`,
          );
          continue;
        }
        const cves = (u.references?.reference ?? [])
          .filter((r) => r.type === 'cve' && typeof r.id === 'string' && /^CVE-\d{4}-\d+$/.test(r.id))
          .map((r) => r.id!);
        // Each binary rpm once per release (the same fix is listed per architecture).
        const fixes = new Map<string, { release: string; name: string; fixed: string }>();
        for (const c of u.pkglist?.collection ?? [])
          for (const p of c.package ?? []) {
            if (!p.name || !p.version || !p.release) continue;
            const release = fl.release(id, { version: p.version, release: p.release });
            const v = `${p.epoch && p.epoch !== '0' ? `${p.epoch}:` : ''}${p.version}-${p.release}`;
            if (release && saneVersion(v))
              fixes.set(`${release}\u0000${p.name}`, { release, name: p.name, fixed: v });
          }
        if (!fixes.size) {
          counts.skipped++;
          continue;
        }
        w.putAdvisory(
          fl.name,
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
          [...fixes.values()].map(({ release, name, fixed }) => ({
            ecosystem: `${fl.ecoBase}:${release}`,
            ecoBase: fl.ecoBase,
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
}

export const alasImporter = updateinfoImporter({
  name: 'alas',
  marker: /<id>ALAS/,
  ecoBase: amazon.feed!.ecosystem,
  validId: (id) => !!alasRelease(id),
  release: (id) => alasRelease(id),
});

export const elsaImporter = updateinfoImporter({
  name: 'elsa',
  marker: /<id>EL[SBE]A-/,
  ecoBase: oracle.feed!.ecosystem,
  validId: (id) => /^ELSA-\d{4}-\d+$/.test(id),
  release: (_id, p) => elRelease(p.release),
  notSecurity: /^EL[BE]A-/,
});
