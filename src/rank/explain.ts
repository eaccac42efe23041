import type { Finding } from '../model/scan.js';

/**
 * A risk score in words, one clause per factor and the absent ones named too ("not known to be
 * exploited", "no fix yet"), so a reader learns why a number is high and why it is not higher.
 * The CLI's `--explain` prints it under each finding and the server sends it with every finding
 * (`risk.explanation`): one text, written once, wherever a risk number appears.
 */
export function explainRisk(f: Pick<Finding, 'risk' | 'status' | 'kind'>): string {
  const by = new Map(f.risk.factors.map((x) => [x.name, x]));
  if (f.kind === 'malicious') return `risk ${f.risk.score}: ${by.get('malicious')?.detail ?? 'malware'}`;
  const parts: string[] = [];
  const sev = by.get('severity');
  if (sev) parts.push(`severity ${sev.detail}: ${sev.value} points`);
  const kev = by.get('kev');
  const epss = by.get('epss');
  if (kev) parts.push(`${kev.detail}: +${kev.value}`);
  else if (epss) parts.push(`likely to be exploited, ${epss.detail}: +${epss.value}`);
  else parts.push('not known to be exploited (not in KEV, no EPSS score)');
  const fix = by.get('fix');
  if (fix) parts.push(`a fix is available (${fix.detail}): +${fix.value}`);
  else
    parts.push(
      f.status === 'will_not_fix'
        ? 'the distribution will not fix it'
        : f.status === 'end_of_life'
          ? 'no fix: the release is end of life'
          : 'no fix yet',
    );
  const ctx = by.get('context');
  if (ctx) parts.push(`exposure and environment ${ctx.detail}: ×${Math.round(ctx.value * 100) / 100}`);
  const exposed = by.get('exposed');
  if (exposed) parts.push(`${exposed.detail}: +${exposed.value}`);
  return `risk ${f.risk.score}: ${parts.join('; ')}`;
}

/**
 * An image's risk (the sum of its findings' scores) in words: what it adds up, and the finding
 * that weighs most with its own explanation. `suppressed` findings are named as not counted.
 */
export function explainImageRisk(
  findings: Array<Pick<Finding, 'risk' | 'status' | 'kind' | 'id'> & { package: { name: string } }>,
  suppressed = 0,
): { score: number; explanation: string } {
  const score = Math.round(findings.reduce((n, f) => n + f.risk.score, 0) * 10) / 10;
  const top = findings.reduce<(typeof findings)[number] | undefined>(
    (a, b) => (!a || b.risk.score > a.risk.score ? b : a),
    undefined,
  );
  const what = !top
    ? 'no findings: nothing adds to the risk'
    : findings.length === 1
      ? `the risk of its one finding, ${top.id} in ${top.package.name}: ${explainRisk(top)}`
      : `the sum of its ${findings.length} findings' risk scores; the riskiest, ${top.id} in ${top.package.name}: ${explainRisk(top)}`;
  return { score, explanation: `${what}${suppressed ? ` (${suppressed} suppressed, not counted)` : ''}` };
}
