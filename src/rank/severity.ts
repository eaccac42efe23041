import { createRequire } from 'node:module';
import type * as CvssLib from 'ae-cvss-calculator';
import { LEVELS, type CvssScore, type SeverityLevel } from '../model/severity.js';

// The types live in model/ (shared by every room); re-exported for the rooms above rank.
export { LEVELS, type CvssScore, type Severity, type SeverityLevel } from '../model/severity.js';

/** ae-cvss-calculator, loaded the first time a vector is scored (many scans have none). */
let lib: typeof CvssLib | undefined;
function cvss(): typeof CvssLib {
  return (lib ??= createRequire(import.meta.url)('ae-cvss-calculator') as typeof CvssLib);
}

/** CVSS qualitative rating (v3/v4 table; v2 has no CRITICAL, so 9.0+ is still CRITICAL here). */
export function levelOfScore(score: number): SeverityLevel {
  if (score >= 9) return 'CRITICAL';
  if (score >= 7) return 'HIGH';
  if (score >= 4) return 'MEDIUM';
  if (score > 0) return 'LOW';
  return 'NONE';
}

/** Score a CVSS vector of any version with ae-cvss-calculator; undefined when it does not parse. */
export function scoreVector(vector: string, source: string): CvssScore | undefined {
  try {
    const v = vector.trim();
    if (v.startsWith('CVSS:4.0/'))
      return {
        source,
        version: '4.0',
        vector: v,
        score: new (cvss().Cvss4P0)(v).calculateScores().base ?? 0,
      };
    if (v.startsWith('CVSS:3.1/'))
      return {
        source,
        version: '3.1',
        vector: v,
        score: new (cvss().Cvss3P1)(v).calculateScores().base ?? 0,
      };
    if (v.startsWith('CVSS:3.0/'))
      return {
        source,
        version: '3.0',
        vector: v,
        score: new (cvss().Cvss3P0)(v).calculateScores().base ?? 0,
      };
    if (/^\(?AV:[LAN]\/AC:/.test(v))
      return {
        source,
        version: '2.0',
        vector: v,
        score: new (cvss().Cvss2)(v.replace(/^\(|\)$/g, '')).calculateScores().base ?? 0,
      };
  } catch {
    return undefined;
  }
  return undefined;
}

/** A word rating as distros and GHSA write it (Moderate, important, urgency "high"…). */
export function levelOfWord(word: unknown): SeverityLevel | undefined {
  if (typeof word !== 'string') return undefined;
  const w = word.trim().toLowerCase();
  if (['critical'].includes(w)) return 'CRITICAL';
  if (['high', 'important'].includes(w)) return 'HIGH';
  if (['medium', 'moderate'].includes(w)) return 'MEDIUM';
  if (['low', 'negligible', 'unimportant', 'minor'].includes(w)) return 'LOW';
  return undefined;
}

export function worse(a: SeverityLevel, b: SeverityLevel): SeverityLevel {
  return LEVELS.indexOf(a) <= LEVELS.indexOf(b) ? a : b;
}

/** Scores from NVD's metrics object (cvssMetricV40/V31/V30/V2), newest version first. */
export function nvdScores(metrics: unknown): CvssScore[] {
  const out: CvssScore[] = [];
  if (!metrics || typeof metrics !== 'object') return out;
  for (const key of ['cvssMetricV40', 'cvssMetricV31', 'cvssMetricV30', 'cvssMetricV2']) {
    const list = (
      metrics as Record<
        string,
        Array<{
          source?: string;
          type?: string;
          cvssData?: { vectorString?: string; baseScore?: number; version?: string };
        }>
      >
    )[key];
    if (!Array.isArray(list)) continue;
    const primary = list.find((m) => m.type === 'Primary') ?? list[0];
    const vector = primary?.cvssData?.vectorString;
    if (!vector) continue;
    const scored = scoreVector(
      vector,
      `nvd${primary.source && primary.source !== 'nvd@nist.gov' ? `:${primary.source}` : ''}`,
    );
    if (scored)
      out.push(
        typeof primary.cvssData?.baseScore === 'number'
          ? { ...scored, score: primary.cvssData.baseScore }
          : scored,
      );
  }
  return out;
}
