import type { SeverityLevel } from '../rank/severity.js';
import { cleanStep } from '../sbom/model.js';
import type { Finding, ScanResult } from '../model/scan.js';
import { coverageWarning } from '../secrets/scan.js';
import { explainRisk } from '../rank/explain.js';
import { coverageGaps, gradeLabel, noFindingsText } from '../scan/coverage.js';

const COLORS: Record<SeverityLevel, string> = {
  CRITICAL: '\x1b[1;31m',
  HIGH: '\x1b[31m',
  MEDIUM: '\x1b[33m',
  LOW: '\x1b[36m',
  NONE: '',
  UNKNOWN: '\x1b[90m',
};

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** The database line of a report; its notice (a database over 30 days old, a failed source) comes first when there is one. */
export function databaseLines(r: ScanResult): string[] {
  const d = r.database;
  if (!d?.version) return [];
  const age =
    d.ageDays === undefined ? '' : d.ageDays < 1 ? ', today' : `, ${Math.floor(d.ageDays)} days old`;
  return [
    ...(d.notice ? [`WARNING: ${d.notice}`] : []),
    `database ${d.version}${age}${d.origin ? ` · ${d.origin}` : ''}`,
  ];
}

export function summaryLine(r: ScanResult): string {
  const s = r.summary;
  const counts = (['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'] as SeverityLevel[])
    .map((l) => `${s.bySeverity[l]} ${l.toLowerCase()}`)
    .join(', ');
  const malware = s.malicious ? `${s.malicious} MALICIOUS PACKAGE${s.malicious === 1 ? '' : 'S'} · ` : '';
  const gaps = coverageGaps(r.coverage);
  return `${malware}${s.total} vulnerabilities (${counts}) · ${s.fixable} fixable · ${s.kev} known exploited · grade ${gradeLabel(s.grade, r.coverage)} (${s.gradeReason})${gaps ? ` · NOT COVERED: ${gaps}` : ''}`;
}

/** A finding's status in words; a malicious package has no fix, only removal. */
export function statusOf(f: Finding): string {
  return f.kind === 'malicious' ? 'MALICIOUS PACKAGE: remove it' : f.status.replace(/_/g, ' ');
}

const OS_TYPES = new Set(['apk', 'deb', 'rpm', 'alpm', 'portage']);

/**
 * Where a language or binary package lives (`/usr/bin/docker-registry`, a lockfile, a jar): an OS
 * package's place is its package database, which says nothing, so it has none.
 */
export function locationOf(f: Finding): string | undefined {
  return OS_TYPES.has(f.package.type) ? undefined : f.package.path;
}

/**
 * The findings worst first, one per line; coloured when writing to a terminal. `explain` adds the
 * risk in words under each finding (`--explain`, the same text the dashboard shows).
 */
export function scanTable(r: ScanResult, color = false, explain = false): string {
  const os = r.os
    ? `${r.os.prettyName ?? r.os.id} (${r.os.id} ${r.os.version})${r.os.eol?.endOfLife ? `, END OF LIFE since ${r.os.eol.date}` : ''}`
    : 'unknown OS';
  const head = `${r.image.name} · ${os} · ${r.packages.length} packages · context: ${r.context.exposure}, ${r.context.env}`;
  const rows = r.findings.map((f) => [
    String(f.risk.score),
    f.id,
    f.severity.level,
    f.package.name,
    f.package.version,
    f.fixedVersion ?? '',
    statusOf(f),
    [
      locationOf(f) ?? '',
      f.kev ? 'KEV' : '',
      f.epss ? `EPSS ${(f.epss.percentile * 100).toFixed(0)}%ile` : '',
      f.package.layer?.createdBy ? cleanStep(f.package.layer.createdBy).slice(0, 50) : '',
    ]
      .filter(Boolean)
      .join(' · '),
  ]);
  const header = ['RISK', 'VULNERABILITY', 'SEVERITY', 'PACKAGE', 'INSTALLED', 'FIXED IN', 'STATUS', 'NOTES'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (row: string[], sev?: SeverityLevel) =>
    row
      .map((c, i) => {
        const cell = i === row.length - 1 ? c : pad(c, widths[i]);
        return color && sev && i === 2 ? `${COLORS[sev]}${cell}\x1b[0m` : cell;
      })
      .join('  ')
      .trimEnd();
  const body = rows.length
    ? [
        line(header),
        ...rows.flatMap((row, i) => [
          line(row, r.findings[i].severity.level),
          ...(explain ? [`      ${explainRisk(r.findings[i])}`] : []),
        ]),
      ]
    : [noFindingsText(r.coverage).replace(' (see above)', ' (see the summary line)')];
  const suppressed = r.suppressed.map(
    (f) =>
      `  ${f.id}  ${f.package.name} ${f.package.version}  — ${f.suppression.by}: ${f.suppression.reason} (${f.suppression.source})`,
  );
  const sev = (l: SeverityLevel) => (color ? `${COLORS[l]}${l}\x1b[0m` : l);
  const secrets = (r.secrets ?? []).map(
    (x) =>
      `  ${sev(x.severity)}  ${x.title}  ${x.path}${x.path.startsWith('/') ? `:${x.line}` : ` #${x.line}`}  ${x.match}${x.deleted ? '  (deleted in a later layer, still in the image)' : ''}${x.layer?.createdBy ? `  · ${cleanStep(x.layer.createdBy).slice(0, 50)}` : ''}`,
  );
  // Files the secret search passed over: a clean result does not cover them.
  const unsearched = coverageWarning(r.secretCoverage);
  const config = (r.misconfigurations ?? []).map(
    (m) => `  ${sev(m.severity)}  ${m.rule}  ${m.message}\n      fix: ${m.fix}`,
  );
  return [
    head,
    '',
    ...body,
    '',
    summaryLine(r),
    ...databaseLines(r),
    ...(r.secrets
      ? [
          '',
          secrets.length ? `Secrets (${secrets.length}):` : 'No secrets found.',
          ...secrets,
          ...(unsearched ? [`WARNING: ${unsearched}`] : []),
        ]
      : []),
    ...(r.misconfigurations
      ? [
          '',
          config.length ? `Image configuration (${config.length}):` : 'Image configuration: no findings.',
          ...config,
        ]
      : []),
    ...(suppressed.length ? ['', `Suppressed (${suppressed.length}):`, ...suppressed] : []),
    '',
  ].join('\n');
}
