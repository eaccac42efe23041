// Severity levels and scores: data every room shares (the scoring itself lives in rank/severity.ts).

export type SeverityLevel = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'NONE' | 'UNKNOWN';
export const LEVELS: SeverityLevel[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'NONE', 'UNKNOWN'];

export interface CvssScore {
  source: string;
  version: '2.0' | '3.0' | '3.1' | '4.0';
  vector: string;
  score: number;
}

export interface Severity {
  level: SeverityLevel;
  /** Who rated it: alpine-secdb, debian-tracker (urgency), ghsa, osv:CVSS_V3, nvd… */
  source: string;
  score?: number;
  vector?: string;
}

/** Whether a severity is at or above the --fail-on level (every level is, without one). */
export const atLeast = (level: SeverityLevel, failOn?: SeverityLevel): boolean =>
  !failOn || LEVELS.indexOf(level) <= LEVELS.indexOf(failOn);
