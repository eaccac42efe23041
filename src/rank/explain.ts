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
 * The riskiest finding of an image, with its risk in words: what a list view keeps beside an
 * image's summed risk (scans.tally) so it can say the image's risk in words without its findings.
 */
export interface RiskTop {
  id: string;
  package: string;
  score: number;
  text: string;
}

type Explainable = Pick<Finding, 'risk' | 'status' | 'kind' | 'id'> & { package: { name: string } };

/** The finding that weighs most (the first of equals). */
export const riskiest = <F extends Explainable>(findings: F[]): F | undefined =>
  findings.reduce<F | undefined>((a, b) => (!a || b.risk.score > a.risk.score ? b : a), undefined);

export function riskTop(findings: Explainable[]): RiskTop | undefined {
  const top = riskiest(findings);
  return top && { id: top.id, package: top.package.name, score: top.risk.score, text: explainRisk(top) };
}

/**
 * An image's risk in words from its count of findings and its riskiest one: one text for the image
 * page (findings at hand) and the lists (count and riskiest kept with the scan). `top` unknown
 * (a database update re-matched the riskiest package and made it less risky) says the sum only.
 */
export function imageRiskWords(count: number, top: RiskTop | undefined, suppressed = 0): string {
  const what = !count
    ? 'no findings: nothing adds to the risk'
    : !top
      ? `the sum of its ${count} findings' risk scores`
      : count === 1
        ? `the risk of its one finding, ${top.id} in ${top.package}: ${top.text}`
        : `the sum of its ${count} findings' risk scores; the riskiest, ${top.id} in ${top.package}: ${top.text}`;
  return `${what}${suppressed ? ` (${suppressed} suppressed, not counted)` : ''}`;
}

/**
 * An image's risk (the sum of its findings' scores) in words: what it adds up, and the finding
 * that weighs most with its own explanation. `suppressed` findings are named as not counted.
 */
export function explainImageRisk(
  findings: Explainable[],
  suppressed = 0,
): { score: number; explanation: string } {
  const score = Math.round(findings.reduce((n, f) => n + f.risk.score, 0) * 10) / 10;
  return { score, explanation: imageRiskWords(findings.length, riskTop(findings), suppressed) };
}
