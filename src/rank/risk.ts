import type { Environment, Exposure, Finding, RiskFactor, ScanSummary } from '../model/scan.js';
import { LEVELS, type SeverityLevel } from './severity.js';

/*
 * Risk score, 0–100 (docs/scanning.md):
 *   severity   CVSS base score × 4 when known (0–40), else CRITICAL 40, HIGH 30, MEDIUM 18, LOW 8, UNKNOWN 12
 *   exploited  +30 when CISA lists it as known exploited (KEV)
 *   likely     +20 × EPSS percentile (0–20) when not in KEV
 *   fixable    +5 when a fixed version exists (the risk can be removed now); will-not-fix and
 *              end-of-life add nothing
 *   context    × exposure (internet 1.0, internal 0.75) × environment (production 1.0, staging 0.85, dev 0.6)
 *   exposed    +10 for a KEV-listed finding in an internet-facing production image
 */
const SEVERITY_POINTS: Record<SeverityLevel, number> = {
  CRITICAL: 40,
  HIGH: 30,
  MEDIUM: 18,
  LOW: 8,
  NONE: 0,
  UNKNOWN: 12,
};
const EXPOSURE: Record<Exposure, number> = { internet: 1, internal: 0.75 };
const ENVIRONMENT: Record<Environment, number> = { production: 1, staging: 0.85, dev: 0.6 };

export function riskOf(f: Omit<Finding, 'risk'>, exposure: Exposure, env: Environment): Finding['risk'] {
  // Malware runs whatever the context: the highest risk there is, ahead of every vulnerability.
  if (f.kind === 'malicious')
    return {
      score: 100,
      factors: [
        {
          name: 'malicious',
          value: 100,
          detail: 'the package is malware (OpenSSF malicious-package report)',
        },
      ],
    };
  const factors: RiskFactor[] = [];
  const sev =
    f.severity.score !== undefined
      ? Math.round(f.severity.score * 4 * 10) / 10
      : SEVERITY_POINTS[f.severity.level];
  factors.push({
    name: 'severity',
    value: sev,
    detail: `${f.severity.level}${f.severity.score !== undefined ? ` ${f.severity.score}` : ''} (${f.severity.source})`,
  });
  let points = sev;
  if (f.kev) {
    factors.push({
      name: 'kev',
      value: 30,
      detail: `known exploited (CISA KEV${f.kev.dueDate ? `, due ${f.kev.dueDate}` : ''})`,
    });
    points += 30;
  } else if (f.epss) {
    const v = Math.round(20 * f.epss.percentile * 10) / 10;
    factors.push({
      name: 'epss',
      value: v,
      detail: `EPSS ${(f.epss.score * 100).toFixed(2)}%, percentile ${(f.epss.percentile * 100).toFixed(0)}`,
    });
    points += v;
  }
  if (f.status === 'fixed') {
    factors.push({ name: 'fix', value: 5, detail: `fixed in ${f.fixedVersion}` });
    points += 5;
  }
  const mult = EXPOSURE[exposure] * ENVIRONMENT[env];
  factors.push({ name: 'context', value: mult, detail: `${exposure} × ${env}` });
  let score = points * mult;
  if (f.kev && exposure === 'internet' && env === 'production') {
    factors.push({
      name: 'exposed',
      value: 10,
      detail: 'exploited in the wild and reachable from the internet in production',
    });
    score += 10;
  }
  return { score: Math.min(100, Math.round(score)), factors };
}

/*
 * Grade (docs/scanning.md), the first rule that holds:
 *   F  a malicious package, a KEV-listed vulnerability, or the OS is end-of-life with any critical finding
 *   E  a critical vulnerability with a fix available
 *   D  any other critical vulnerability, or more than 10 fixable high ones
 *   C  a fixable high vulnerability
 *   B  high vulnerabilities without a fix, or more than 10 fixable medium ones
 *   A  anything else (nothing worse than medium, and few fixable ones)
 * An end-of-life OS gets no security fixes: such an image grades C at best.
 */
export function summarize(
  findings: Finding[],
  ctx: { osEndOfLife: boolean; /** false when neither an OS nor a package was found */ recognised?: boolean },
): ScanSummary {
  return summaryOfTally(tallyOf(findings), ctx);
}

/**
 * The counts a grade is computed from. Kept beside each stored result, so that a re-match that
 * changes a few packages' findings grades the image by adding and taking away, without reading
 * the whole result.
 */
export interface Tally {
  total: number;
  bySeverity: Record<SeverityLevel, number>;
  fixableBySeverity: Record<SeverityLevel, number>;
  kev: number;
  malicious: number;
  /** Sum of the findings' risk scores. */
  risk: number;
}

export function tallyOf(findings: Finding[], into?: Tally, sign: 1 | -1 = 1): Tally {
  const zero = () => Object.fromEntries(LEVELS.map((l) => [l, 0])) as Record<SeverityLevel, number>;
  const t = into ?? {
    total: 0,
    bySeverity: zero(),
    fixableBySeverity: zero(),
    kev: 0,
    malicious: 0,
    risk: 0,
  };
  for (const f of findings) {
    t.total += sign;
    t.bySeverity[f.severity.level] += sign;
    if (f.status === 'fixed') t.fixableBySeverity[f.severity.level] += sign;
    if (f.kev) t.kev += sign;
    if (f.kind === 'malicious') t.malicious += sign;
    t.risk += sign * (f.risk?.score ?? 0);
  }
  return t;
}

export function summaryOfTally(
  t: Tally,
  ctx: { osEndOfLife: boolean; /** false when neither an OS nor a package was found */ recognised?: boolean },
): ScanSummary {
  const osEndOfLife = ctx.osEndOfLife;
  const bySeverity = t.bySeverity;
  const fixable = (l: SeverityLevel) => t.fixableBySeverity[l];
  const kev = t.kev;
  const malicious = t.malicious;
  let grade: ScanSummary['grade'];
  let gradeReason: string;
  if (malicious) {
    grade = 'F';
    gradeReason = `${malicious} malicious package${malicious === 1 ? '' : 's'}`;
  } else if (kev || (osEndOfLife && bySeverity.CRITICAL)) {
    grade = 'F';
    gradeReason = kev ? `${kev} known exploited (KEV)` : 'end-of-life OS with critical vulnerabilities';
  } else if (fixable('CRITICAL')) {
    grade = 'E';
    gradeReason = `${fixable('CRITICAL')} fixable critical`;
  } else if (bySeverity.CRITICAL || fixable('HIGH') > 10) {
    grade = 'D';
    gradeReason = bySeverity.CRITICAL
      ? `${bySeverity.CRITICAL} critical without a fix`
      : `${fixable('HIGH')} fixable high`;
  } else if (fixable('HIGH')) {
    grade = 'C';
    gradeReason = `${fixable('HIGH')} fixable high`;
  } else if (bySeverity.HIGH || fixable('MEDIUM') > 10) {
    grade = 'B';
    gradeReason = bySeverity.HIGH
      ? `${bySeverity.HIGH} high without a fix`
      : `${fixable('MEDIUM')} fixable medium`;
  } else if (bySeverity.UNKNOWN) {
    // Unknown is not "no worse than medium": a finding nobody rated may be critical.
    const unknownFixable = fixable('UNKNOWN');
    grade = unknownFixable > 10 ? 'C' : 'B';
    gradeReason = `${bySeverity.UNKNOWN} of unknown severity${unknownFixable ? ` (${unknownFixable} fixable)` : ''}`;
  } else {
    grade = 'A';
    gradeReason = t.total ? 'nothing worse than medium' : 'no vulnerabilities found';
  }
  if (ctx.recognised === false) {
    grade = 'C';
    gradeReason = 'nothing recognised: no operating system and no packages, so nothing could be checked';
  }
  if (osEndOfLife && (grade === 'A' || grade === 'B')) {
    grade = 'C';
    gradeReason = `end-of-life OS; ${gradeReason}`;
  }
  return {
    total: t.total,
    bySeverity: { ...bySeverity },
    fixable: LEVELS.reduce((a, l) => a + t.fixableBySeverity[l], 0),
    kev,
    ...(malicious ? { malicious } : {}),
    grade,
    gradeReason,
  };
}
