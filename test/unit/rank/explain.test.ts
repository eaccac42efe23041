import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainImageRisk, explainRisk, imageRiskWords, riskTop } from '../../../src/rank/explain.js';
import { factsOf, storedRiskWords } from '../../../src/store/results.js';
import type { ScanResult } from '../../../src/model/scan.js';
import { riskOf } from '../../../src/rank/risk.js';
import type { Finding } from '../../../src/model/scan.js';

// The risk in words (CLI --explain, the dashboard): every factor riskOf gives, and the absent ones named.
const finding = (over: Partial<Finding>): Finding => {
  const f = {
    id: 'CVE-2024-0001',
    aliases: [],
    package: { name: 'openssl', version: '3.0.1', type: 'deb', purl: 'pkg:deb/debian/openssl@3.0.1' },
    status: 'affected',
    severity: { level: 'HIGH', score: 7.5, source: 'nvd' },
    cvss: [],
    references: [],
    dataSources: [],
    ...over,
  } as Omit<Finding, 'risk'>;
  return { ...f, risk: riskOf(f, 'internet', 'production') } as Finding;
};

describe('risk in words', () => {
  it('names each factor with its points, and says what is absent', () => {
    assert.equal(
      explainRisk(finding({})),
      'risk 30: severity HIGH 7.5 (nvd): 30 points; not known to be exploited (not in KEV, no EPSS score); no fix yet; exposure and environment internet × production: ×1',
    );
    const kev = finding({ kev: { dueDate: '2024-02-01' }, status: 'fixed', fixedVersion: '3.0.2' });
    assert.equal(
      explainRisk(kev),
      `risk ${kev.risk.score}: severity HIGH 7.5 (nvd): 30 points; known exploited (CISA KEV, due 2024-02-01): +30; a fix is available (fixed in 3.0.2): +5; exposure and environment internet × production: ×1; exploited in the wild and reachable from the internet in production: +10`,
    );
    assert.match(
      explainRisk(finding({ epss: { score: 0.5, percentile: 0.9 }, status: 'will_not_fix' })),
      /; likely to be exploited, EPSS 50\.00%, percentile 90: \+18; the distribution will not fix it;/,
    );
    assert.match(explainRisk(finding({ status: 'end_of_life' })), /; no fix: the release is end of life;/);
    assert.match(explainRisk(finding({ kind: 'malicious' })), /^risk 100: the package is malware/);
  });

  it("an image's risk: the sum, the riskiest finding, and what was suppressed", () => {
    assert.deepEqual(explainImageRisk([]), {
      score: 0,
      explanation: 'no findings: nothing adds to the risk',
    });
    const two = [finding({}), finding({ id: 'CVE-2024-0002', kev: {} })];
    const r = explainImageRisk(two, 3);
    assert.equal(r.score, two[0].risk.score + two[1].risk.score);
    assert.match(
      r.explanation,
      /^the sum of its 2 findings' risk scores; the riskiest, CVE-2024-0002 in openssl: risk \d+: .* \(3 suppressed, not counted\)$/,
    );
  });

  it("lists say the image page's words from what a scan row keeps (count, riskiest, suppressed)", () => {
    const two = [finding({}), finding({ id: 'CVE-2024-0002', kev: {} })];
    const result = { findings: two, suppressed: [{}, {}], packages: [] } as unknown as ScanResult;
    assert.equal(storedRiskWords(factsOf(result)), explainImageRisk(two, 2).explanation);
    assert.equal(imageRiskWords(2, riskTop(two)), explainImageRisk(two).explanation);
    // The riskiest unknown (a re-match made it less risky): the sum only, never a wrong name.
    assert.equal(imageRiskWords(12, undefined), "the sum of its 12 findings' risk scores");
    // A row written before the words were kept: the count only.
    assert.equal(storedRiskWords({ total: 3 }), "the sum of its 3 findings' risk scores");
    assert.equal(storedRiskWords({}), 'no findings: nothing adds to the risk');
  });
});
