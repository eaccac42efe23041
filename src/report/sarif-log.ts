import type { SeverityLevel } from '../rank/severity.js';
import { VERSION } from '../version.js';

/** The SARIF 2.1.0 envelope every Customs report shares: one run, Customs as the driver. */
export function sarifLog(
  rules: object[],
  results: object[],
  automationId: string,
  run: Record<string, unknown> = {},
): object {
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'Customs', version: VERSION, semanticVersion: VERSION, rules } },
        automationDetails: { id: automationId },
        ...run,
        results,
      },
    ],
  };
}

/** SARIF result level per severity. */
export const SARIF_LEVEL: Record<SeverityLevel, 'error' | 'warning' | 'note'> = {
  CRITICAL: 'error',
  HIGH: 'error',
  MEDIUM: 'warning',
  LOW: 'note',
  NONE: 'note',
  UNKNOWN: 'warning',
};

/** GitHub reads `security-severity` as a CVSS-like number; used where there is no score. */
export const SEVERITY_SCORE: Record<SeverityLevel, number> = {
  CRITICAL: 9.5,
  HIGH: 8,
  MEDIUM: 5.5,
  LOW: 2,
  NONE: 0,
  UNKNOWN: 5,
};
