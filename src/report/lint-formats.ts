import type { LintFinding } from '../lint/dockerfile.js';
import { RULES } from '../lint/dockerfile.js';
import { LEVELS } from '../rank/severity.js';
import { VERSION } from '../version.js';
import { SARIF_LEVEL, SEVERITY_SCORE, sarifLog } from './sarif-log.js';

export interface LintResult {
  file: string;
  findings: LintFinding[];
}

function table(r: LintResult, tty: boolean): string {
  if (!r.findings.length) return `${r.file}: no findings\n`;
  const color = (lvl: string, s: string) =>
    !tty ? s : `\x1b[${lvl === 'CRITICAL' || lvl === 'HIGH' ? 31 : lvl === 'MEDIUM' ? 33 : 36}m${s}\x1b[0m`;
  const counts = LEVELS.map((l) => [l, r.findings.filter((f) => f.severity === l).length] as const).filter(
    ([, n]) => n,
  );
  const lines = [
    `${r.file}: ${r.findings.length} findings (${counts.map(([l, n]) => `${n} ${l.toLowerCase()}`).join(', ')})`,
    '',
  ];
  for (const f of r.findings) {
    lines.push(`${r.file}:${f.line}  ${color(f.severity, f.severity.padEnd(8))} ${f.rule}  ${f.message}`);
    lines.push(`${' '.repeat(r.file.length + String(f.line).length + 3)}fix: ${f.fix}`);
  }
  return `${lines.join('\n')}\n`;
}

function sarif(r: LintResult): object {
  const used = new Set(r.findings.map((f) => f.rule));
  const rules = RULES.filter((x) => used.has(x.id)).map((x) => ({
    id: x.id,
    name: x.title.replace(/[^A-Za-z0-9]+/g, ''),
    shortDescription: { text: x.title },
    fullDescription: { text: x.title },
    help: { text: x.fix, markdown: x.fix },
    properties: {
      'security-severity': SEVERITY_SCORE[x.severity].toFixed(1),
      tags: ['security', 'dockerfile', x.severity.toLowerCase()],
    },
  }));
  const results = r.findings.map((f) => ({
    ruleId: f.rule,
    level: SARIF_LEVEL[f.severity],
    message: { text: `${f.message}. Fix: ${f.fix}` },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: r.file.replace(/^\.\//, '') },
          region: { startLine: f.line },
        },
      },
    ],
    partialFingerprints: { 'customsLint/v1': `${f.rule}:${f.message}` },
  }));
  return sarifLog(rules, results, `customs/lint/${r.file}/`);
}

function markdown(r: LintResult): string {
  if (!r.findings.length) return `### Dockerfile checks: \`${r.file}\`\n\nNo findings.\n`;
  const rows = r.findings.map(
    (f) =>
      `| ${f.line} | ${f.severity} | ${f.rule} | ${f.message.replace(/\|/g, '\\|')} | ${f.fix.replace(/\|/g, '\\|')} |`,
  );
  return [
    `### Dockerfile checks: \`${r.file}\``,
    '',
    '| line | severity | rule | finding | fix |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

/** One entry per output format of `customs lint`. */
export const lintFormats: Record<string, (r: LintResult, tty: boolean) => string> = {
  table,
  json: (r) =>
    `${JSON.stringify({ schemaVersion: 1, tool: { name: 'customs', version: VERSION }, ...r }, null, 2)}\n`,
  sarif: (r) => `${JSON.stringify(sarif(r), null, 2)}\n`,
  markdown: (r) => markdown(r),
};
