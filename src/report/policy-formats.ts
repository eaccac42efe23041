import type { RuleResult } from '../policy/policy.js';
import { VERSION } from '../version.js';
import { SARIF_LEVEL, SEVERITY_SCORE, sarifLog } from './sarif-log.js';

export interface PolicyReport {
  image: string;
  environment: string;
  policy: string;
  passed: boolean;
  rules: RuleResult[];
}

const MARK = { pass: 'PASS', fail: 'FAIL', 'not-applicable': 'n/a ' } as const;

function table(p: PolicyReport, tty: boolean): string {
  const paint = (s: 'pass' | 'fail' | 'not-applicable') =>
    !tty
      ? MARK[s]
      : s === 'pass'
        ? `\x1b[32m${MARK[s]}\x1b[0m`
        : s === 'fail'
          ? `\x1b[31m${MARK[s]}\x1b[0m`
          : MARK[s];
  const lines = [`${p.image} · policy ${p.policy} · environment ${p.environment}`, ''];
  for (const r of p.rules) {
    lines.push(`${paint(r.status)}  ${r.id}  (${r.severity.toLowerCase()})  ${r.description}`);
    for (const o of r.offending.slice(0, 20)) lines.push(`        ${o}`);
    if (r.offending.length > 20) lines.push(`        … and ${r.offending.length - 20} more`);
  }
  const failed = p.rules.filter((r) => r.status === 'fail').length;
  lines.push(
    '',
    p.passed
      ? `PASSED: the image may go to ${p.environment}`
      : `FAILED: ${failed} of ${p.rules.length} rules; the image may not go to ${p.environment}`,
    '',
  );
  return lines.join('\n');
}

function markdown(p: PolicyReport): string {
  const rows = p.rules.map(
    (r) =>
      `| ${r.status === 'pass' ? '✅' : r.status === 'fail' ? '❌' : '➖'} | ${r.id} | ${r.severity} | ${r.description} | ${r.offending.slice(0, 5).join('<br>').replace(/\|/g, '\\|')}${r.offending.length > 5 ? ` (+${r.offending.length - 5})` : ''} |`,
  );
  return [
    `### Policy \`${p.environment}\` for \`${p.image}\`: ${p.passed ? 'passed' : 'failed'}`,
    '',
    '| | rule | severity | requirement | offending |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

function sarif(p: PolicyReport): object {
  const failed = p.rules.filter((r) => r.status === 'fail');
  const rules = p.rules.map((r) => ({
    id: `policy/${r.id}`,
    name: r.id.replace(/[^A-Za-z0-9]/g, ''),
    shortDescription: { text: r.description },
    properties: {
      'security-severity': SEVERITY_SCORE[r.severity].toFixed(1),
      tags: ['security', 'policy', p.environment],
    },
  }));
  const results = failed.map((r) => ({
    ruleId: `policy/${r.id}`,
    level: SARIF_LEVEL[r.severity],
    message: {
      text: `${p.environment} policy: ${r.description} — ${r.offending.length} offending: ${r.offending.slice(0, 10).join('; ')}`,
    },
    locations: [{ physicalLocation: { artifactLocation: { uri: 'Dockerfile' }, region: { startLine: 1 } } }],
    partialFingerprints: { 'customsPolicy/v1': `${p.environment}|${r.id}|${p.image.replace(/[:@].*$/, '')}` },
  }));
  return sarifLog(rules, results, `customs/policy/${p.environment}/${p.image}/`);
}

export const policyFormats: Record<string, (p: PolicyReport, tty: boolean) => string> = {
  table,
  json: (p) =>
    `${JSON.stringify({ schemaVersion: 1, tool: { name: 'customs', version: VERSION }, ...p }, null, 2)}\n`,
  sarif: (p) => `${JSON.stringify(sarif(p), null, 2)}\n`,
  markdown: (p) => markdown(p),
};
