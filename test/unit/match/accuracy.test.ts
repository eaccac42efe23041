import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatReport, measureAccuracy, score } from '../../../bench/accuracy.js';
import { ROOT } from '../../helpers/paths.js';

// The accuracy harness (`npm run accuracy`, bench/accuracy.ts): precision and recall per ecosystem
// on a labelled set built from the shared advisories, Alpine root filesystems and a Go program
// built in the run. The suite fails when a figure falls below the one recorded in
// bench/accuracy-baseline.json (record anew with `node dist/bench/accuracy.js --record`), or when
// a labelled set shrinks (a harness that labels nothing would score 100%).
const baseline = JSON.parse(readFileSync(join(ROOT, 'bench/accuracy-baseline.json'), 'utf8')) as Record<
  string,
  { expected: number; precision: number; recall: number }
>;
const work = join(tmpdir(), `customs-accuracy-${process.pid}`);
after(() => rmSync(work, { recursive: true, force: true }));

describe('accuracy against a labelled set', { timeout: 600_000 }, () => {
  it('scores a finding once by any of its ids; one outside the labels is a false positive', () => {
    const f = (name: string, version: string, id: string, aliases: string[] = []) => ({
      id,
      aliases,
      package: { name, version, type: 'pypi' },
    });
    const s = score(
      new Set(['a@1 PYSEC-1', 'a@1 PYSEC-2', 'b@2 PYSEC-3']),
      [
        f('a', '1', 'CVE-1', ['PYSEC-1']),
        f('a', '1', 'PYSEC-2'),
        f('a', '1', 'PYSEC-9'),
        f('c', '1', 'GHSA-x'),
      ],
      () => true,
      (x) => x.id === 'GHSA-x',
    );
    assert.equal(s.truePositives, 2);
    assert.deepEqual(s.falsePositives, ['a@1 PYSEC-9']);
    assert.deepEqual(s.falseNegatives, ['b@2 PYSEC-3']);
    assert.equal(s.precision, 2 / 3);
    assert.equal(s.recall, 2 / 3);
  });

  it('no ecosystem falls below its recorded precision and recall', () => {
    const report = measureAccuracy(work);
    const text = formatReport(report);
    for (const [eco, want] of Object.entries(baseline)) {
      const got = report[eco];
      // Go needs the toolchain (.ci/run installs golang-go).
      if (!got && eco === 'Go') continue;
      assert.ok(got, `${eco} measured\n${text}`);
      assert.ok(
        got.expected >= want.expected * 0.9,
        `${eco}: ${got.expected} labelled pairs, ${want.expected} recorded\n${text}`,
      );
      assert.ok(
        got.precision >= want.precision - 1e-9,
        `${eco} precision ${got.precision} < ${want.precision}\n${text}`,
      );
      assert.ok(got.recall >= want.recall - 1e-9, `${eco} recall ${got.recall} < ${want.recall}\n${text}`);
    }
  });
});
