import type { SeverityLevel } from '../rank/severity.js';
import { componentRefs, toCycloneDx } from '../sbom/cyclonedx.js';
import type { Finding, ScanResult, SuppressedFinding } from '../model/scan.js';
import { coverageGaps, coverageParts } from '../scan/coverage.js';

const METHOD: Record<string, string> = {
  '4.0': 'CVSSv4',
  '3.1': 'CVSSv31',
  '3.0': 'CVSSv3',
  '2.0': 'CVSSv2',
};
const SEVERITY: Record<SeverityLevel, string> = {
  CRITICAL: 'critical',
  HIGH: 'high',
  MEDIUM: 'medium',
  LOW: 'low',
  NONE: 'none',
  UNKNOWN: 'unknown',
};
const JUSTIFICATION: Record<string, string> = {
  component_not_present: 'code_not_present',
  vulnerable_code_not_present: 'code_not_present',
  vulnerable_code_not_in_execute_path: 'code_not_reachable',
  vulnerable_code_cannot_be_controlled_by_adversary: 'protected_by_mitigating_control',
  inline_mitigations_already_exist: 'protected_by_mitigating_control',
};

function sourceOf(id: string): { name: string; url: string } {
  if (id.startsWith('CVE-')) return { name: 'NVD', url: `https://nvd.nist.gov/vuln/detail/${id}` };
  if (id.startsWith('GHSA-')) return { name: 'GitHub', url: `https://github.com/advisories/${id}` };
  return { name: 'OSV', url: `https://osv.dev/vulnerability/${id}` };
}

/**
 * CycloneDX 1.6: the inventory plus `vulnerabilities` (ratings, KEV/EPSS, VEX analysis of
 * suppressed ones). One entry per vulnerability (and analysis), whose `affects` names every
 * component it was found in: each copy of a package at its own path is its own component.
 */
export function toCycloneDxWithVulnerabilities(r: ScanResult): object {
  const bom = toCycloneDx({
    image: r.image,
    inventory: { os: r.os, packages: r.packages, warnings: [] },
    tool: r.tool,
  });
  // A finding names its package by purl and the path of its first location, as packages do.
  const where = (purl: string, path: string | undefined) => `${purl}\u0000${path ?? ''}`;
  const refOf = new Map<string, string>();
  componentRefs(r.packages).forEach((ref, i) => {
    const p = r.packages[i];
    const key = where(p.purl, p.locations[0]?.path);
    if (!refOf.has(key)) refOf.set(key, ref);
    if (!refOf.has(p.purl)) refOf.set(p.purl, ref);
  });
  const refFor = (f: Finding) =>
    refOf.get(where(f.package.purl, f.package.path)) ?? refOf.get(f.package.purl) ?? f.package.purl;
  const groups = new Map<string, Array<Finding | SuppressedFinding>>();
  for (const f of [...r.findings, ...r.suppressed]) {
    const s = (f as SuppressedFinding).suppression;
    const key = `${f.id}\u0000${s ? `${s.by}\u0000${s.status}\u0000${s.justification}\u0000${s.reason}` : ''}`;
    const g = groups.get(key);
    if (g) g.push(f);
    else groups.set(key, [f]);
  }
  const vuln = (all: Array<Finding | SuppressedFinding>, i: number) => {
    // The worst copy speaks for the entry (they share the advisory; risk and fixes can differ).
    const f = all.reduce((a, b) => (b.risk.score > a.risk.score ? b : a));
    const s = (f as SuppressedFinding).suppression;
    const fixes = [
      ...new Map(
        all.filter((x) => x.fixedVersion).map((x) => [`${x.package.name}@${x.fixedVersion}`, x]),
      ).values(),
    ];
    return {
      'bom-ref': `vuln-${i + 1}-${f.id}`,
      id: f.id,
      source: sourceOf(f.id),
      ...(f.aliases.length ? { references: f.aliases.map((a) => ({ id: a, source: sourceOf(a) })) } : {}),
      ratings: [
        ...f.cvss.map((c) => ({
          source: { name: c.source },
          score: c.score,
          severity: SEVERITY[f.severity.level === 'UNKNOWN' ? 'UNKNOWN' : f.severity.level],
          method: METHOD[c.version] ?? 'other',
          vector: c.vector,
        })),
        ...(f.cvss.length
          ? []
          : [{ source: { name: f.severity.source }, severity: SEVERITY[f.severity.level], method: 'other' }]),
        ...(f.epss
          ? [
              {
                source: { name: 'FIRST EPSS' },
                score: f.epss.score,
                method: 'other',
                justification: `EPSS probability ${f.epss.score}, percentile ${f.epss.percentile}`,
              },
            ]
          : []),
      ],
      ...(f.description || f.title ? { description: f.title ?? f.description } : {}),
      ...(f.description && f.title ? { detail: f.description } : {}),
      ...(fixes.length
        ? {
            recommendation: `Upgrade ${fixes.map((x) => `${x.package.name} to ${x.fixedVersion}`).join(', ')} or later.`,
          }
        : {}),
      ...(f.references.length ? { advisories: f.references.slice(0, 10).map((url) => ({ url })) } : {}),
      ...(s
        ? {
            analysis: {
              state: s.status === 'fixed' ? 'resolved' : s.by === 'vex' ? 'not_affected' : 'not_affected',
              ...(s.justification && JUSTIFICATION[s.justification]
                ? { justification: JUSTIFICATION[s.justification] }
                : {}),
              detail: `${s.reason} (${s.source})`,
            },
          }
        : {}),
      affects: [...new Map(all.map((x) => [refFor(x), x])).entries()].map(([ref, x]) => ({
        ref,
        versions: [{ version: x.package.version, status: 'affected' }],
      })),
      properties: [
        { name: 'customs:risk', value: String(f.risk.score) },
        { name: 'customs:status', value: f.status },
        ...[...new Set(fixes.map((x) => x.fixedVersion!))].map((v) => ({
          name: 'customs:fixedVersion',
          value: v,
        })),
        ...(f.kev
          ? [
              {
                name: 'customs:kev',
                value: `known exploited${f.kev.dueDate ? `, due ${f.kev.dueDate}` : ''}`,
              },
            ]
          : []),
      ],
    };
  };
  const meta = (bom as { metadata?: { properties?: Array<{ name: string; value: string }> } }).metadata;
  if (meta && r.database?.version)
    meta.properties = [
      ...(meta.properties ?? []),
      { name: 'customs:database:version', value: r.database.version },
      ...(r.database.notice ? [{ name: 'customs:database:warning', value: r.database.notice }] : []),
    ];
  // Coverage: complete or not, then each part's status (`alpine 3.16.9: no-data`).
  if (meta && r.coverage)
    meta.properties = [
      ...(meta.properties ?? []),
      {
        name: 'customs:coverage',
        value: r.coverage.complete ? 'complete' : `incomplete: ${coverageGaps(r.coverage)}`,
      },
      ...coverageParts(r.coverage).map((e) => ({
        name: `customs:coverage:${e.kind}`,
        value: `${e.name}: ${e.status}`,
      })),
    ];
  return { ...bom, vulnerabilities: [...groups.values()].map(vuln) };
}
