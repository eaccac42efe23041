import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Finding, ScanResult } from '../../../src/model/scan.js';
import {
  applyExceptions,
  goReachability,
  ignoreFile,
  statedSuppressors,
  summaryOf,
  suppress,
  vexDocument,
  type ExceptionLike,
} from '../../../src/policy/suppress.js';
import { summarize } from '../../../src/rank/risk.js';
import { databaseWarnings, staleness } from '../../../src/vulndb/staleness.js';

function finding(
  id: string,
  level: Finding['severity']['level'],
  status: Finding['status'] = 'fixed',
): Finding {
  return {
    id,
    aliases: [],
    package: { name: `pkg-${id}`, version: '1.0', type: 'apk', purl: `pkg:apk/alpine/pkg-${id}@1.0` },
    status,
    fixedVersion: status === 'fixed' ? '1.1' : undefined,
    severity: { level, source: 'test' },
    cvss: [],
    references: [],
    dataSources: ['test'],
    risk: { score: level === 'CRITICAL' ? 90 : 40, factors: [] },
  };
}

function result(findings: Finding[]): Omit<ScanResult, 'summary'> & { summary: ScanResult['summary'] } {
  return {
    schemaVersion: 1,
    tool: { name: 'customs', version: 'test' },
    createdAt: '2026-01-01T00:00:00Z',
    image: {
      name: 'test:1',
      target: 'test:1',
      kind: 'docker-archive',
      repoTags: ['test:1'],
      layers: [],
      warnings: [],
    } as unknown as ScanResult['image'],
    context: { exposure: 'internet', env: 'production' },
    database: { path: 'x' },
    packages: [{ name: 'p' } as unknown as ScanResult['packages'][number]],
    findings,
    suppressed: [],
    // Deliberately wrong: suppress() settles the summary itself.
    summary: summarize([], { osEndOfLife: false }),
    warnings: ['from the scan'],
  };
}

const exception = (id: number, vulnerability: string): ExceptionLike => ({
  id,
  vulnerability,
  reason: `accepted ${vulnerability}`,
  expiresAt: '2099-01-01T00:00:00Z',
  createdBy: 'alice',
  approvedBy: 'bob',
});

let tmp: string;
before(() => (tmp = mkdtempSync(join(tmpdir(), 'customs-suppress-'))));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('one ordered list of suppressors (policy/suppress.ts)', () => {
  it('each suppressor sees only what the ones before kept; the summary is settled once, at the end', () => {
    const a = finding('CVE-1', 'CRITICAL');
    const b = finding('CVE-2', 'HIGH');
    const c = finding('CVE-3', 'LOW');
    const d = finding('GO-4', 'MEDIUM');
    const ignore = join(tmp, 'ignore.yaml');
    writeFileSync(
      ignore,
      'ignores:\n  - id: CVE-1\n    reason: not exposed\n  - id: GO-4\n    reason: listed twice\n',
    );
    const r = suppress(result([a, b, c, d]), [
      goReachability([{ finding: d, checked: ['pkg.Func'] }]),
      ...ignoreFile(ignore),
      ...statedSuppressors({ exceptions: [exception(7, 'CVE-2'), exception(8, 'CVE-1')] }),
    ]);
    assert.deepEqual(
      r.findings.map((f) => f.id),
      ['CVE-3'],
    );
    // Reachability first: GO-4 is not claimed again by the ignore file; CVE-1 by the ignore file,
    // not by the exception that also names it.
    assert.deepEqual(
      r.suppressed.map((s) => [s.id, s.suppression.by]),
      [
        ['GO-4', 'reachability'],
        ['CVE-1', 'ignore-file'],
        ['CVE-2', 'exception'],
      ],
    );
    assert.equal(r.suppressed[0].vex?.status, 'not_affected');
    assert.match(r.suppressed[0].suppression.reason, /none of pkg\.Func is in the binary/);
    assert.equal(r.suppressed[2].suppression.source, 'exception 7 (until 2099-01-01, by bob)');
    assert.deepEqual(r.summary, summaryOf(r, [c]));
    assert.equal(r.summary.total, 1);
    assert.deepEqual(r.warnings, ['from the scan']);
  });

  it('a VEX document after the ignore file; an expired ignore rule warns and keeps the finding', () => {
    const a = finding('CVE-10', 'HIGH');
    const b = finding('CVE-11', 'HIGH');
    const ignore = join(tmp, 'expired.yaml');
    writeFileSync(ignore, 'ignores:\n  - id: CVE-10\n    reason: old\n    expires: 2000-01-01\n');
    const vex = join(tmp, 'vex.json');
    writeFileSync(
      vex,
      JSON.stringify({
        '@context': 'https://openvex.dev/ns/v0.2.0',
        '@id': 'https://example.com/vex/1',
        author: 'test',
        timestamp: '2026-01-01T00:00:00Z',
        version: 1,
        statements: [
          {
            vulnerability: { name: 'CVE-10' },
            status: 'not_affected',
            justification: 'component_not_present',
          },
        ],
      }),
    );
    const r = suppress(result([a, b]), [...ignoreFile(ignore, 'production'), vexDocument(vex)]);
    assert.deepEqual(
      r.findings.map((f) => f.id),
      ['CVE-11'],
    );
    assert.equal(r.suppressed[0].suppression.by, 'vex');
    assert.match(r.warnings.join('\n'), /CVE-10 expired on 2000-01-01/);
    assert.equal(r.summary.total, 1);
  });

  it('no ignore file named or present: no suppressor; a named one that is missing fails when applied', () => {
    assert.equal(statedSuppressors({}).length, ignoreFile(undefined).length);
    const missing = ignoreFile(join(tmp, 'nope.yaml'));
    assert.equal(missing.length, 1);
    assert.throws(() => suppress(result([finding('CVE-1', 'LOW')]), missing), /no such file/);
  });

  it("applyExceptions: the gate's exceptions suppress the findings they name", () => {
    const out = applyExceptions([finding('CVE-1', 'LOW'), finding('CVE-2', 'LOW')], [exception(1, 'CVE-2')]);
    assert.deepEqual(
      out.kept.map((f) => f.id),
      ['CVE-1'],
    );
    assert.equal(out.suppressed[0].suppression.by, 'exception');
  });
});

describe('one definition of a stale database (vulndb/staleness.ts)', () => {
  const now = Date.parse('2026-06-10T00:00:00Z');
  const meta = (m: Record<string, string>) => (k: string) => m[k];
  const ok = [{ name: 'osv', status: 'ok' }];
  it('age over the limit, unknown age, a failed source or an expired signature: stale', () => {
    assert.equal(staleness(meta({ built_at: '2026-06-08T00:00:00Z' }), ok, 7, now).stale, false);
    assert.equal(staleness(meta({ built_at: '2026-06-01T00:00:00Z' }), ok, 7, now).stale, true);
    assert.equal(staleness(meta({ built_at: '2026-06-01T00:00:00Z' }), ok, 10, now).stale, false);
    assert.equal(staleness(meta({}), ok, 7, now).stale, true);
    const failed = staleness(
      meta({ built_at: '2026-06-09T00:00:00Z' }),
      [{ name: 'nvd', status: 'failed' }],
      7,
      now,
    );
    assert.equal(failed.stale, true);
    assert.deepEqual(
      failed.failed.map((s) => s.name),
      ['nvd'],
    );
    const expired = staleness(
      meta({ built_at: '2026-06-09T00:00:00Z', 'local.expires': '2026-06-09T12:00:00Z' }),
      ok,
      7,
      now,
    );
    assert.equal(expired.stale, true);
    assert.equal(expired.expiry.expired, true);
  });
  it('the warning a result carries: its notice, else its age when stale', () => {
    assert.deepEqual(databaseWarnings({ notice: 'n', stale: true }), ['n']);
    assert.match(
      databaseWarnings({ stale: true, ageDays: 9.4, version: 'v' })[0],
      /9 days old \(version v\)/,
    );
    assert.deepEqual(databaseWarnings({ stale: false }), []);
  });
});
