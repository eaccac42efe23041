import type { Package } from '../catalog/model.js';
import type { RawMatch } from '../match/matcher.js';
import {
  levelOfScore,
  levelOfWord,
  nvdScores,
  scoreVector,
  type CvssScore,
  type Severity,
} from '../rank/severity.js';
import type { VulnStore } from '../vulndb/store.js';
import type { Finding, FindingStatus } from '../model/scan.js';

const CVE = /^CVE-\d{4}-\d+$/;

/** CVE first, then GHSA, then the rest alphabetically: the id a finding goes by. */
function primaryOf(ids: Set<string>): string {
  const all = [...ids].sort();
  return all.find((i) => CVE.test(i)) ?? all.find((i) => i.startsWith('GHSA-')) ?? all[0];
}

const STATUS_ORDER: FindingStatus[] = ['fixed', 'will_not_fix', 'end_of_life', 'affected'];

/**
 * One finding per (package, vulnerability): matches whose ids or aliases overlap are merged, the
 * lowest fixed version wins, and a distro's "not affected" removes the finding.
 */
export function buildFindings(
  store: VulnStore,
  matches: RawMatch[],
  notAffected: Map<Package, Set<string>>,
): Array<Omit<Finding, 'risk'>> {
  const aliasCache = new Map<string, string[]>();
  const idsOf = (m: RawMatch) => {
    const key = `${m.row.source}\u0000${m.row.id}`;
    let a = aliasCache.get(key);
    if (!a) aliasCache.set(key, (a = store.aliasesOf(m.row.source, m.row.id)));
    return new Set([m.row.id, ...a]);
  };
  const groups: Array<{ pkg: Package; ids: Set<string>; matches: RawMatch[] }> = [];
  const byPkg = new Map<Package, Array<{ pkg: Package; ids: Set<string>; matches: RawMatch[] }>>();
  for (const m of matches) {
    const ids = idsOf(m);
    const list = byPkg.get(m.pkg) ?? [];
    byPkg.set(m.pkg, list);
    const overlapping = list.filter((g) => [...ids].some((i) => g.ids.has(i)));
    const merged = { pkg: m.pkg, ids, matches: [m] };
    for (const g of overlapping) {
      g.ids.forEach((i) => merged.ids.add(i));
      merged.matches.push(...g.matches);
      list.splice(list.indexOf(g), 1);
    }
    list.push(merged);
  }
  for (const list of byPkg.values()) groups.push(...list);

  const out: Array<Omit<Finding, 'risk'>> = [];
  for (const g of groups) {
    const denied = notAffected.get(g.pkg);
    if (denied && [...g.ids].some((i) => denied.has(i))) continue;
    const malware = [...g.ids].filter((i) => i.startsWith('MAL-')).sort()[0];
    if (malware) {
      // Malware is not a flaw with a fix: the package must go, whatever version replaces it.
      const d = describe(store, g.ids, g.matches);
      out.push({
        ...d,
        kind: 'malicious',
        id: malware,
        aliases: [...g.ids].filter((i) => i !== malware).sort(),
        package: packageRef(g.pkg),
        status: 'affected',
        severity: { level: 'CRITICAL', source: 'malicious package (OpenSSF report)' },
        cvss: [],
      });
      continue;
    }
    const primary = primaryOf(g.ids);
    const fixes = g.matches.filter((m) => m.fixedVersion).map((m) => m.fixedVersion!);
    const scheme = g.matches[0].scheme;
    const status = fixes.length ? 'fixed' : STATUS_ORDER.find((s) => g.matches.some((m) => m.status === s))!;
    const fixedVersion = fixes.sort((a, b) => scheme.compare(a, b))[0];
    out.push({
      ...describe(store, g.ids, g.matches),
      id: primary,
      aliases: [...g.ids].filter((i) => i !== primary).sort(),
      package: packageRef(g.pkg),
      status,
      fixedVersion,
    });
  }
  return out;
}

function packageRef(p: Package): Finding['package'] {
  return {
    name: p.name,
    version: p.version,
    type: p.type,
    purl: p.purl,
    source: p.source,
    path: p.locations[0]?.path,
    layer: p.layer,
  };
}

/** Severity, scores, KEV/EPSS, title and references from the matched advisories and NVD. */
function describe(
  store: VulnStore,
  ids: Set<string>,
  matches: RawMatch[],
): Pick<
  Finding,
  'severity' | 'cvss' | 'kev' | 'epss' | 'title' | 'description' | 'references' | 'dataSources' | 'published'
> {
  let published: string | undefined;
  const cvss: CvssScore[] = [];
  let rating: Severity | undefined;
  let title: string | undefined;
  let description: string | undefined;
  const references = new Set<string>();
  for (const m of matches) {
    // The distro's or ecosystem's own rating comes first.
    const word =
      levelOfWord(m.row.ecosystemSpecific?.severity) ??
      levelOfWord(m.row.databaseSpecific?.severity) ??
      levelOfWord(m.row.ecosystemSpecific?.urgency);
    if (word && !rating)
      rating = {
        level: word,
        source: m.row.source === 'osv' ? `${m.row.ecoBase} (osv:${m.row.id})` : m.row.source,
      };
    for (const s of m.row.severity ?? []) {
      const scored = scoreVector(s.score, `osv:${m.row.id}`);
      if (scored) cvss.push(scored);
    }
    const info = store.advisoryInfo(m.row.source, m.row.id);
    if (!info) continue;
    title ??= info.summary;
    description ??= info.details;
    // The earliest publication among the advisories: when the world (and a fix) knew of it.
    if (info.published && (!published || info.published < published)) published = info.published;
    for (const r of info.references ?? []) if (r?.url) references.add(r.url);
    const ghsa = levelOfWord(info.databaseSpecific?.severity);
    if (ghsa && !rating)
      rating = { level: ghsa, source: m.row.id.startsWith('GHSA-') ? 'ghsa' : `${m.row.source}:${m.row.id}` };
    for (const s of info.severity ?? []) {
      const scored = scoreVector(s.score, `osv:${m.row.id}`);
      if (scored) cvss.push(scored);
    }
  }
  const cves = [...ids].filter((i) => CVE.test(i));
  let kev: Finding['kev'];
  let epss: Finding['epss'];
  for (const cve of cves) {
    const k = store.kev(cve);
    if (k && !kev)
      kev = { dateAdded: k.dateAdded, dueDate: k.dueDate, ransomware: k.ransomware, name: k.name };
    const e = store.epss(cve);
    if (e && (!epss || e.score > epss.score)) epss = e;
    const n = store.cvss(cve);
    if (n) {
      cvss.push(...nvdScores(n.metrics));
      description ??= n.description;
    }
  }
  // Newest CVSS version first, then the advisory's own before NVD's.
  const order = ['4.0', '3.1', '3.0', '2.0'];
  cvss.sort((a, b) => order.indexOf(a.version) - order.indexOf(b.version));
  const best = cvss[0];
  const severity: Severity = rating
    ? { ...rating, ...(best ? { score: best.score, vector: best.vector } : {}) }
    : best
      ? { level: levelOfScore(best.score), source: best.source, score: best.score, vector: best.vector }
      : { level: 'UNKNOWN', source: 'none' };
  return {
    severity,
    cvss,
    kev,
    epss,
    title,
    description,
    references: [...references].slice(0, 20),
    ...(published ? { published } : {}),
    dataSources: [...new Set(matches.map((m) => `${m.row.source}:${m.row.id}`))].sort(),
  };
}
