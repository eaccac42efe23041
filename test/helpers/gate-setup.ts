import assert from 'node:assert/strict';
import { shared } from './paths.js';
import { customs } from './run.js';

/** The gate rule most server stories judge by: no vulnerability that has a fix. */
export const FIXABLE_RULE = {
  id: 'no-fixable-vulnerabilities',
  check: 'vulnerabilities',
  severity: 'HIGH',
  with: { severities: ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'], fixable: true },
};

/** Production and staging refuse fixable vulnerabilities; dev has no rules. */
export const STAGED_POLICY = {
  environments: {
    production: { rules: [FIXABLE_RULE] },
    staging: { rules: [FIXABLE_RULE] },
    dev: { rules: [] },
  },
};

/** A vulnerability database of the real Alpine secdb and KEV at `file`, as the server stories use. */
export function importAlpineDb(file: string): void {
  const imp = customs(['db', 'import', shared('advisories/alpine-secdb'), shared('kev'), '--db', file, '-q']);
  assert.equal(imp.status, 0, imp.stderr);
}
