import type { Package } from '../catalog/model.js';
import { LEVELS, type SeverityLevel } from '../rank/severity.js';
import type { Finding, ScanResult } from '../model/scan.js';

/** What changed from one image to the next (`customs compare A B`): packages, findings, grade, base. */
export interface Comparison {
  schemaVersion: 1;
  from: Side;
  to: Side;
  packages: {
    added: PackageRef[];
    removed: PackageRef[];
    changed: Array<PackageRef & { from: string }>;
    unchanged: number;
  };
  vulnerabilities: {
    fixed: FindingRef[];
    introduced: FindingRef[];
    unchanged: number;
    /** introduced minus fixed, per severity. */
    delta: Record<SeverityLevel, number>;
  };
  baseImageChanged: boolean;
}

interface Side {
  image: string;
  digest?: string;
  os?: string;
  grade: string;
  /** Sum of the findings' risk scores: one number for how much risk the image carries. */
  risk: number;
  vulnerabilities: number;
  baseLayer?: string;
}

interface PackageRef {
  type: string;
  name: string;
  version: string;
}

interface FindingRef {
  id: string;
  severity: SeverityLevel;
  package: string;
  version: string;
  fixedVersion?: string;
  risk: number;
}

/** A package is the same package across images when type, name, arch and place agree. */
const pkgKey = (p: Package) =>
  `${p.type}/${p.name}/${p.arch ?? ''}/${['apk', 'deb', 'rpm'].includes(p.type) ? '' : (p.locations[0]?.path ?? '')}`;
const findingKey = (f: Finding) => `${f.id}|${f.package.type}/${f.package.name}`;
const ref = (f: Finding): FindingRef => ({
  id: f.id,
  severity: f.severity.level,
  package: f.package.name,
  version: f.package.version,
  fixedVersion: f.fixedVersion,
  risk: f.risk.score,
});

function side(r: ScanResult): Side {
  return {
    image: r.image.name,
    digest: r.image.manifestDigest ?? r.image.configDigest,
    os: r.os ? `${r.os.id} ${r.os.version}` : undefined,
    grade: r.summary.grade,
    risk: r.findings.reduce((s, f) => s + f.risk.score, 0),
    vulnerabilities: r.findings.length,
    baseLayer: r.image.layers[0]?.diffId,
  };
}

export function compareScans(a: ScanResult, b: ScanResult): Comparison {
  const before = new Map(a.packages.map((p) => [pkgKey(p), p]));
  const after = new Map(b.packages.map((p) => [pkgKey(p), p]));
  const pr = (p: Package): PackageRef => ({ type: p.type, name: p.name, version: p.version });
  const added = [...after].filter(([k]) => !before.has(k)).map(([, p]) => pr(p));
  const removed = [...before].filter(([k]) => !after.has(k)).map(([, p]) => pr(p));
  const changed = [...after]
    .filter(([k, p]) => before.has(k) && before.get(k)!.version !== p.version)
    .map(([k, p]) => ({ ...pr(p), from: before.get(k)!.version }));
  const fa = new Map(a.findings.map((f) => [findingKey(f), f]));
  const fb = new Map(b.findings.map((f) => [findingKey(f), f]));
  const fixed = [...fa].filter(([k]) => !fb.has(k)).map(([, f]) => ref(f));
  const introduced = [...fb].filter(([k]) => !fa.has(k)).map(([, f]) => ref(f));
  const delta = Object.fromEntries(
    LEVELS.map((l) => [
      l,
      introduced.filter((f) => f.severity === l).length - fixed.filter((f) => f.severity === l).length,
    ]),
  ) as Record<SeverityLevel, number>;
  const byRisk = (x: FindingRef, y: FindingRef) => y.risk - x.risk || x.id.localeCompare(y.id);
  const byName = (x: PackageRef, y: PackageRef) => x.name.localeCompare(y.name);
  const from = side(a);
  const to = side(b);
  return {
    schemaVersion: 1,
    from,
    to,
    packages: {
      added: added.sort(byName),
      removed: removed.sort(byName),
      changed: changed.sort(byName),
      unchanged: [...after.keys()].filter((k) => before.has(k)).length - changed.length,
    },
    vulnerabilities: {
      fixed: fixed.sort(byRisk),
      introduced: introduced.sort(byRisk),
      unchanged: [...fb.keys()].filter((k) => fa.has(k)).length,
      delta,
    },
    baseImageChanged: from.os !== to.os || from.baseLayer !== to.baseLayer,
  };
}

const sign = (n: number) => (n > 0 ? `+${n}` : String(n));

export function comparisonTable(c: Comparison): string {
  const lines = [
    `${c.from.image} → ${c.to.image}`,
    `grade ${c.from.grade} → ${c.to.grade} · risk ${c.from.risk} → ${c.to.risk} (${sign(c.to.risk - c.from.risk)}) · vulnerabilities ${c.from.vulnerabilities} → ${c.to.vulnerabilities}`,
    c.baseImageChanged
      ? `base image changed: ${c.from.os ?? '?'} → ${c.to.os ?? '?'}`
      : `base image unchanged (${c.to.os ?? '?'})`,
    '',
    `Vulnerabilities: ${c.vulnerabilities.fixed.length} fixed, ${c.vulnerabilities.introduced.length} introduced, ${c.vulnerabilities.unchanged} unchanged · by severity: ${
      LEVELS.filter((l) => c.vulnerabilities.delta[l])
        .map((l) => `${l.toLowerCase()} ${sign(c.vulnerabilities.delta[l])}`)
        .join(', ') || 'no change'
    }`,
    ...c.vulnerabilities.introduced.map(
      (f) =>
        `  + ${f.id}  ${f.severity}  ${f.package} ${f.version}${f.fixedVersion ? ` (fixed in ${f.fixedVersion})` : ''}`,
    ),
    ...c.vulnerabilities.fixed.map((f) => `  - ${f.id}  ${f.severity}  ${f.package} ${f.version}`),
    '',
    `Packages: ${c.packages.added.length} added, ${c.packages.removed.length} removed, ${c.packages.changed.length} changed, ${c.packages.unchanged} unchanged`,
    ...c.packages.changed.map((p) => `  ~ ${p.name}  ${p.from} → ${p.version}`),
    ...c.packages.added.map((p) => `  + ${p.name}  ${p.version}`),
    ...c.packages.removed.map((p) => `  - ${p.name}  ${p.version}`),
    '',
  ];
  return lines.join('\n');
}

export function comparisonMarkdown(c: Comparison): string {
  const v = c.vulnerabilities;
  const rows = (list: FindingRef[], mark: string) =>
    list.map(
      (f) => `| ${mark} | ${f.id} | ${f.severity} | ${f.package} ${f.version} | ${f.fixedVersion ?? ''} |`,
    );
  return [
    `### Image comparison: \`${c.from.image}\` → \`${c.to.image}\``,
    '',
    `| | before | after | change |`,
    `| --- | --- | --- | --- |`,
    `| grade | ${c.from.grade} | ${c.to.grade} | |`,
    `| risk | ${c.from.risk} | ${c.to.risk} | ${sign(c.to.risk - c.from.risk)} |`,
    `| vulnerabilities | ${c.from.vulnerabilities} | ${c.to.vulnerabilities} | ${sign(c.to.vulnerabilities - c.from.vulnerabilities)} |`,
    `| base image | ${c.from.os ?? '?'} | ${c.to.os ?? '?'} | ${c.baseImageChanged ? 'changed' : ''} |`,
    '',
    `**${v.fixed.length} fixed, ${v.introduced.length} introduced**, ${v.unchanged} unchanged; packages: ${c.packages.added.length} added, ${c.packages.removed.length} removed, ${c.packages.changed.length} changed.`,
    ...(v.fixed.length + v.introduced.length
      ? [
          '',
          '| | vulnerability | severity | package | fixed in |',
          '| --- | --- | --- | --- | --- |',
          ...rows(v.introduced, '🆕 introduced'),
          ...rows(v.fixed, '✅ fixed'),
        ]
      : []),
    '',
  ].join('\n');
}
