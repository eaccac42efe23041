import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { toSarif } from '../../../src/report/sarif.js';
import { summarize } from '../../../src/rank/risk.js';
import type { Finding, ScanResult } from '../../../src/model/scan.js';
import { schemaErrors } from '../../helpers/schemas.js';

// GitHub code scanning's upload limits (docs: SARIF support for code scanning): at most 25,000
// results and rules per run, of which only the first 5,000 results are shown; 10 MB gzipped;
// 1,000 locations per result; 20 tags per rule. A large image must still upload, worst first.

function finding(i: number): Finding {
  return {
    id: `CVE-2099-${String(i).padStart(5, '0')}`,
    aliases: [],
    package: {
      name: `pkg-${i % 700}`,
      version: '1.0',
      type: 'npm',
      purl: `pkg:npm/pkg-${i % 700}@1.0`,
      path: `/app/node_modules/pkg-${i % 700}/package.json`,
    },
    status: 'fixed',
    fixedVersion: '1.1',
    severity: { level: i % 3 ? 'HIGH' : 'MEDIUM', source: 'test', score: i % 3 ? 7.5 : 5 },
    cvss: [],
    title: `a long title for finding ${i} `.repeat(3),
    description: 'd'.repeat(500),
    references: [`https://example.org/${i}`],
    dataSources: ['osv:test'],
    risk: { score: 100 - (i % 100), factors: [] },
  };
}

describe('SARIF within GitHub code scanning limits', () => {
  const findings = Array.from({ length: 7000 }, (_, i) => finding(i)).sort(
    (a, b) => b.risk.score - a.risk.score,
  );
  const result: ScanResult = {
    schemaVersion: 1,
    tool: { name: 'customs', version: '0.0.0' },
    createdAt: new Date(0).toISOString(),
    image: {
      target: 'x',
      kind: 'oci-layout',
      name: 'big:1',
      repoTags: [],
      labels: {},
      history: [],
      layers: [],
      warnings: [],
    },
    context: { exposure: 'internet', env: 'production' },
    database: { path: 'db' },
    packages: [],
    findings,
    suppressed: [],
    summary: summarize(findings, { osEndOfLife: false }),
    warnings: [],
  };
  const sarif = toSarif(result) as {
    runs: Array<{
      results: Array<{
        properties: { risk: number };
        locations: unknown[];
        partialFingerprints: Record<string, string>;
      }>;
      tool: { driver: { rules: Array<{ properties: { tags: string[] } }> } };
      invocations: Array<{ toolExecutionNotifications: Array<{ message: { text: string } }> }>;
    }>;
  };
  const run = sarif.runs[0];

  it('keeps the 5,000 riskiest results and says how many were left out', () => {
    assert.equal(run.results.length, 5000);
    const lowestKept = Math.min(...run.results.map((r) => r.properties.risk));
    const highestDropped = Math.max(...findings.slice(5000).map((f) => f.risk.score));
    assert.ok(lowestKept >= highestDropped);
    assert.match(
      run.invocations[0].toolExecutionNotifications[0].message.text,
      /^2000 of 7000 findings left out/,
    );
  });

  it('stays under the rule, location, tag and size limits, and is valid SARIF', () => {
    assert.ok(run.tool.driver.rules.length <= 25_000);
    assert.ok(run.results.every((r) => r.locations.length <= 1000));
    assert.ok(run.tool.driver.rules.every((r) => r.properties.tags.length <= 20));
    const bytes = gzipSync(JSON.stringify(sarif)).length;
    assert.ok(bytes < 10 * 1024 * 1024, `${bytes} bytes gzipped`);
    assert.deepEqual(schemaErrors('sarif-2.1.0', sarif), []);
  });

  it('fingerprints differ for the same vulnerability in two copies of a package', () => {
    const two = toSarif({
      ...result,
      findings: [
        finding(1),
        { ...finding(1), package: { ...finding(1).package, path: '/other/package.json' } },
      ],
    }) as typeof sarif;
    const [a, b] = two.runs[0].results.map((r) => r.partialFingerprints['customsFinding/v1']);
    assert.notEqual(a, b);
  });
});
