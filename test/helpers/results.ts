import type { ScanResult } from '../../src/model/scan.js';

/** A stored scan result with no findings, as the store and the gate read it (tests seed these). */
export function cleanResult(name: string, extra: Partial<Omit<ScanResult, 'image'>> = {}): ScanResult {
  return {
    image: { name, attestations: [], layers: [], history: [], labels: {}, repoTags: [] },
    findings: [],
    packages: [],
    suppressed: [],
    warnings: [],
    database: {},
    createdAt: new Date().toISOString(),
    summary: {
      total: 0,
      bySeverity: { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, UNKNOWN: 0 },
      fixable: 0,
      kev: 0,
      grade: 'A',
      gradeReason: 'no findings',
    },
    ...extra,
  } as unknown as ScanResult;
}
