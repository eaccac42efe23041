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
