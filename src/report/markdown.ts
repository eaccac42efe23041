import type { ScanResult } from '../model/scan.js';
import { coverageGaps, gradeLabel, noFindingsText } from '../scan/coverage.js';
import { statusOf, summaryLine } from './scan-table.js';

const MAX_ROWS = 50;
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Markdown for a pull-request comment or $GITHUB_STEP_SUMMARY: the summary, then the worst findings. */
export function toMarkdown(r: ScanResult): string {
  const s = r.summary;
  const gaps = coverageGaps(r.coverage);
  const lines = [
    `### Customs: ${cell(r.image.name)} — grade **${gradeLabel(s.grade, r.coverage)}**`,
    '',
    `${s.gradeReason}. ${summaryLine(r)}`,
    '',
    ...(r.database?.notice ? [`> **Warning:** ${cell(r.database.notice)}`, ''] : []),
    ...(gaps ? [`> **Not covered:** ${cell(gaps)}`, ''] : []),
    '| Critical | High | Medium | Low | Unknown | Fixable | Known exploited |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    `| ${s.bySeverity.CRITICAL} | ${s.bySeverity.HIGH} | ${s.bySeverity.MEDIUM} | ${s.bySeverity.LOW} | ${s.bySeverity.UNKNOWN} | ${s.fixable} | ${s.kev} |`,
    '',
  ];
  if (r.findings.length) {
    lines.push(
      '| Risk | Vulnerability | Severity | Package | Installed | Fixed in | Notes |',
      '|---:|---|---|---|---|---|---|',
    );
    for (const f of r.findings.slice(0, MAX_ROWS)) {
      const notes = [
        f.kev ? '**KEV**' : '',
        f.epss ? `EPSS ${(f.epss.percentile * 100).toFixed(0)}th pct` : '',
        f.kind === 'malicious' ? `**${statusOf(f)}**` : f.status !== 'fixed' ? statusOf(f) : '',
      ]
        .filter(Boolean)
        .join(', ');
      lines.push(
        `| ${f.risk.score} | [${f.id}](https://osv.dev/vulnerability/${f.id}) | ${f.severity.level} | ${cell(f.package.name)} | ${cell(f.package.version)} | ${cell(f.fixedVersion ?? '')} | ${notes} |`,
      );
    }
    if (r.findings.length > MAX_ROWS)
      lines.push('', `… and ${r.findings.length - MAX_ROWS} more (see the JSON or SARIF report).`);
  } else lines.push(noFindingsText(r.coverage));
  if (r.suppressed.length)
    lines.push(
      '',
      `<details><summary>${r.suppressed.length} suppressed</summary>`,
      '',
      ...r.suppressed.map(
        (f) => `- ${f.id} in ${cell(f.package.name)}: ${cell(f.suppression.reason)} (${f.suppression.by})`,
      ),
      '',
      '</details>',
    );
  return lines.join('\n') + '\n';
}
