import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { schemeForEcosystem } from '../../../src/versions/index.js';
import { fixedVersionsAbove, inRange, isAffected } from '../../../src/versions/ranges.js';
import { shared } from '../../helpers/paths.js';

const semver = schemeForEcosystem('npm')!;
const maven = schemeForEcosystem('Maven')!;

describe('OSV range evaluation', () => {
  it('introduced/fixed, with the version itself fixed', () => {
    const r = { type: 'SEMVER', events: [{ introduced: '1.0.0' }, { fixed: '1.2.3' }] };
    assert.deepEqual(
      ['0.9.0', '1.0.0', '1.2.2', '1.2.3', '2.0.0'].map((v) => inRange(v, r, semver)),
      [false, true, true, false, false],
    );
  });

  it('last_affected includes that version', () => {
    const r = { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { last_affected: '2.0.0' }] };
    assert.deepEqual(
      ['0.0.1', '2.0.0', '2.0.1'].map((v) => inRange(v, r, semver)),
      [true, true, false],
    );
  });

  it('several introduced/fixed pairs (backport branches), events in any order', () => {
    // Log4Shell's GHSA ranges as one event list: < 2.3.1, >= 2.4 < 2.12.2, >= 2.13.0 < 2.15.0.
    const r = {
      type: 'ECOSYSTEM',
      events: [
        { introduced: '2.13.0' },
        { fixed: '2.15.0' },
        { introduced: '0' },
        { fixed: '2.3.1' },
        { introduced: '2.4' },
        { fixed: '2.12.2' },
      ],
    };
    const cases: Array<[string, boolean]> = [
      ['2.0', true],
      ['2.3.1', false],
      ['2.4', true],
      ['2.12.1', true],
      ['2.12.2', false],
      ['2.12.4', false],
      ['2.14.1', true],
      ['2.15.0', false],
      ['2.17.1', false],
    ];
    for (const [v, want] of cases) assert.equal(inRange(v, r, maven), want, v);
    assert.deepEqual(fixedVersionsAbove('2.14.1', { ranges: [r] }, maven), ['2.15.0']);
    assert.deepEqual(fixedVersionsAbove('2.5', { ranges: [r] }, maven), ['2.12.2', '2.15.0']);
  });

  it('GIT ranges and limit events are ignored; explicit version lists count', () => {
    assert.equal(inRange('1.0', { type: 'GIT', events: [{ introduced: '0' }] }, semver), false);
    assert.equal(isAffected('1.5.0', { versions: ['1.5.0'], ranges: [] }, semver), true);
    assert.equal(
      inRange('5.0.0', { type: 'SEMVER', events: [{ introduced: '0' }, { limit: '2.0.0' }] }, semver),
      true,
    );
  });

  it('real advisories: GO-2021-0113 (golang.org/x/text < 0.3.7) and a PyPI version list', () => {
    const go = JSON.parse(readFileSync(shared('advisories/go-osv/GO-2021-0113.json'), 'utf8')).affected[0];
    const gs = schemeForEcosystem('Go')!;
    assert.equal(isAffected('v0.3.6', go, gs), true);
    assert.equal(isAffected('v0.3.7', go, gs), false);
    assert.equal(isAffected('0.3.6', go, gs), true, 'with or without the v');
    const py = YAML.parse(
      readFileSync(shared('advisories/pypi-osv/vulns/apache-skywalking/PYSEC-2020-342.yaml'), 'utf8'),
    ).affected[0];
    const ps = schemeForEcosystem('PyPI')!;
    assert.equal(isAffected('1.0.1', py, ps), true);
  });

  it('Alpine secdb semantics: below the fixed version in the branch', () => {
    const apk = schemeForEcosystem('Alpine:v3.10')!;
    const r = { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.1.22-r3' }] };
    assert.equal(inRange('1.1.22-r2', r, apk), true);
    assert.equal(inRange('1.1.22-r3', r, apk), false);
    assert.equal(inRange('1.1.24-r2', r, apk), false);
  });
});
