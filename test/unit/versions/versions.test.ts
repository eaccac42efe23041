import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { schemeForEcosystem, type VersionScheme } from '../../../src/versions/index.js';
import { shared } from '../../helpers/paths.js';

/**
 * Every line of a peer's version-ordering vectors: `A < B`, `A = B`, `A > B`, checked both ways.
 * Lines we knowingly order differently are listed with the reason; a listed line that starts to
 * pass fails the test, so the list cannot go stale.
 */
const KNOWN: Record<string, Record<string, string>> = {};

function run(file: string, scheme: VersionScheme): void {
  it(`${file} (${scheme.name})`, () => {
    const lines = readFileSync(shared('version-vectors', file), 'utf8').split('\n');
    const failures: string[] = [];
    let checked = 0;
    for (const line of lines) {
      if (line === '' || line.startsWith('# ') || line.startsWith('// ') || line === '#') continue;
      const parts = line.split(' ');
      assert.equal(parts.length, 3, `malformed vector line "${line}"`);
      const [a, op, b] = parts;
      const want = op === '<' ? -1 : op === '>' ? 1 : 0;
      const got1 = Math.sign(scheme.compare(a, b));
      const got2 = Math.sign(scheme.compare(b, a));
      checked++;
      const ok = got1 === want && got2 === -want;
      const known = KNOWN[file]?.[line];
      if (known && ok) failures.push(`listed as a known difference but passes: ${line}`);
      if (!ok && !known) failures.push(`${line} (got ${got1}/${got2})`);
    }
    assert.ok(checked > 0);
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} of ${checked} lines fail`);
  });
}

describe('version ordering: every line of the peer vectors', () => {
  const cases: Array<[string, string]> = [
    ['alpine-versions.txt', 'Alpine'],
    ['alpine-versions-generated.txt', 'Alpine'],
    ['debian-versions.txt', 'Debian'],
    ['debian-versions-generated.txt', 'Debian'],
    ['redhat-versions.txt', 'Red Hat'],
    ['semver-versions.txt', 'npm'],
    ['pypi-versions.txt', 'PyPI'],
    ['pypi-versions-generated.txt', 'PyPI'],
    ['maven-versions.txt', 'Maven'],
    ['maven-versions-generated.txt', 'Maven'],
    ['nuget-versions.txt', 'NuGet'],
    ['rubygems-versions.txt', 'RubyGems'],
    ['rubygems-versions-generated.txt', 'RubyGems'],
    ['packagist-versions.txt', 'Packagist'],
    ['packagist-versions-generated.txt', 'Packagist'],
    ['cran-versions.txt', 'CRAN'],
    ['cran-versions-generated.txt', 'CRAN'],
  ];
  for (const [file, eco] of cases) run(file, schemeForEcosystem(eco)!);
});

describe('version ordering: the cases users met', () => {
  it('RubyGems reads a hyphen as a pre-release (1.0.0-1 is 1.0.0.pre.1)', () => {
    const gem = schemeForEcosystem('RubyGems')!;
    assert.equal(gem.compare('1.0.0-1', '1.0.0'), -1);
    assert.equal(gem.compare('1-1', '1'), -1);
    assert.equal(gem.compare('1.0.0-1', '0.9.9'), 1);
  });
  it('Go toolchains: a release candidate sorts below its release', async () => {
    const { goToolchainSemver } = await import('../../../src/catalog/golang.js');
    const go = schemeForEcosystem('Go')!;
    assert.equal(goToolchainSemver('go1.21rc2'), 'v1.21.0-rc.2');
    assert.equal(goToolchainSemver('go1.21'), 'v1.21.0');
    assert.equal(goToolchainSemver('go1.20.3 X:boringcrypto'), 'v1.20.3');
    assert.equal(goToolchainSemver('devel go1.22-abc'), undefined);
    assert.equal(go.compare(goToolchainSemver('go1.21rc2')!, 'v1.21.0'), -1);
    assert.equal(go.compare(goToolchainSemver('go1.21rc2')!, 'v1.20.9'), 1);
  });
});
