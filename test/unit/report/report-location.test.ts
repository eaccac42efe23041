import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toHtml } from '../../../src/report/html.js';
import { scanTable } from '../../../src/report/scan-table.js';
import type { Finding, ScanResult } from '../../../src/model/scan.js';

// A language or binary finding says which file it lives in; an OS package's finding does not
// (its place is the package database).
describe('where a finding lives', () => {
  const finding = (type: string, name: string, path: string) =>
    ({
      id: `CVE-2024-${name.length}`,
      aliases: [],
      package: { name, version: '1.0', type, purl: `pkg:${type}/${name}@1.0`, path },
      status: 'fixed',
      fixedVersion: '1.1',
      severity: { level: 'HIGH' },
      cvss: [],
      references: [],
      dataSources: [],
      risk: { score: 5, factors: [] },
    }) as unknown as Finding;
  const result = {
    image: { name: 'app', layers: [] },
    context: { exposure: 'internet', env: 'production' },
    database: {},
    packages: [],
    findings: [
      finding('golang', 'stdlib', '/usr/bin/docker-registry'),
      finding('apk', 'musl', '/lib/apk/db/installed'),
    ],
    suppressed: [],
    summary: {
      total: 2,
      bySeverity: { CRITICAL: 0, HIGH: 2, MEDIUM: 0, LOW: 0, UNKNOWN: 0 },
      fixable: 2,
      kev: 0,
      grade: 'D',
      gradeReason: '',
    },
    createdAt: '2026-01-01T00:00:00Z',
  } as unknown as ScanResult;

  it('in the table', () => {
    const lines = scanTable(result).split('\n');
    assert.match(
      lines.find((l) => l.includes('stdlib'))!,
      /\/usr\/bin\/docker-registry/,
    );
    assert.doesNotMatch(
      lines.find((l) => l.includes('musl'))!,
      /apk\/db/,
    );
  });
  it('in the HTML report', () => {
    const html = toHtml(result);
    // The package's block names its file beside its type.
    assert.match(html, /<span class="name">stdlib [^<]*<\/span><small>golang · \/usr\/bin\/docker-registry/);
    assert.doesNotMatch(html, /lib\/apk\/db\/installed/);
  });
});
