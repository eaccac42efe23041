import type { Finding } from '../model/scan.js';
import { LEVELS } from '../model/severity.js';

/** Worst first: malware, then risk, then severity, then id, so the order is stable. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    Number(b.kind === 'malicious') - Number(a.kind === 'malicious') ||
    b.risk.score - a.risk.score ||
    LEVELS.indexOf(a.severity.level) - LEVELS.indexOf(b.severity.level) ||
    a.id.localeCompare(b.id) ||
    a.package.name.localeCompare(b.package.name)
  );
}
