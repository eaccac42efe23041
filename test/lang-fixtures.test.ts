import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseDepsJson, parsePackagesLock } from '../src/catalog/dotnet.js';
import { parseComposerLock, parseInstalledJson } from '../src/catalog/php.js';
import { parseGemfileLock, parseGemspec } from '../src/catalog/ruby.js';
import { parseCargoLock } from '../src/catalog/rust.js';
import type { Pinned } from '../src/catalog/files.js';
import { shared } from './helpers/paths.js';

// Every peer fixture with an expectation, for Ruby, PHP, .NET and Rust (fixtures/README.md).
const fx = (...p: string[]) => shared('fixtures', ...p);
const read = (...p: string[]) => readFileSync(fx(...p), 'utf8');
const json = (...p: string[]) => JSON.parse(read(...p));
const ids = (list: Array<{ name: string; version: string }>) =>
  list.map((p) => `${p.name}@${p.version}`).sort();
type Want = { Name: string; Version: string; Licenses?: string[]; Relationship?: string; Dev?: boolean };
const wantIds = (list: Want[]) => list.map((w) => `${w.Name}@${w.Version}`).sort();
/** syft's function-style expectations: `{expected: {expectedPkgs: [...]}}`. */
const syftWant = (...p: string[]) =>
  json(...p).expected.expectedPkgs as Array<{ Name: string; Version: string }>;

/** Each trivy table row: the want list, or that it must fail. */
function trivyCases(
  folder: string,
  ext: RegExp,
  parse: (text: string) => Pinned[],
  adjust = (w: Want[], _f: string) => w,
) {
  for (const f of readdirSync(fx(folder)).filter((n) => ext.test(n) && !n.endsWith('.expected.json'))) {
    if (!readdirSync(fx(folder)).includes(`${f}.expected.json`)) continue;
    it(`${folder}/${f}`, () => {
      const c = json(folder, `${f}.expected.json`).cases[0];
      const bad = c.wantErr && c.wantErr !== 'assert.NoError' && !(c.want ?? c.wantPkgs);
      if (bad) {
        assert.throws(() => parse(read(folder, f)));
        return;
      }
      const want = adjust(c.want ?? c.wantPkgs ?? [], f);
      // Where the peer lists dev dependencies (flagged), ours are compared with their flag; where
      // it leaves them out, ours (kept, flagged dev) are set aside.
      const withDev = want.some((w) => w.Dev);
      const got = parse(read(folder, f)).filter((p) => withDev || !p.dev);
      const tag = (dev?: boolean) => (withDev ? ` dev=${!!dev}` : '');
      assert.deepEqual(
        [...new Set(got.map((p) => `${p.name}@${p.version}${tag(p.dev)}`))].sort(),
        [...new Set(want.map((w) => `${w.Name}@${w.Version}${tag(w.Dev)}`))].sort(),
      );
    });
  }
}

describe('Ruby: gemspec and Gemfile.lock (trivy, syft)', () => {
  for (const f of readdirSync(fx('rubygems/trivy-gemspec')).filter((n) => n.endsWith('.gemspec'))) {
    it(`trivy-gemspec/${f}`, () => {
      const c = json('rubygems/trivy-gemspec', `${f}.expected.json`).cases[0];
      const text = read('rubygems/trivy-gemspec', f);
      if (c.wantErr) return void assert.throws(() => parseGemspec(text));
      const [want] = c.want as Want[];
      const got = parseGemspec(text);
      // normal01 writes `spec.licenses = "MIT"` (a string where rubygems expects a list): the peer
      // drops it as invalid; the author plainly declared MIT, so ours keeps it.
      const licenses = f === 'normal01.gemspec' ? ['MIT'] : (want.Licenses ?? []);
      assert.deepEqual([got.name, got.version, got.licenses], [want.Name, want.Version, licenses]);
    });
  }
  it('syft-ruby gemspecs', () => {
    assert.deepEqual(ids([parseGemspec(read('rubygems/syft-ruby/bundler.gemspec'))]), ['bundler@2.1.4']);
    assert.deepEqual(ids([parseGemspec(read('rubygems/syft-ruby/formatador.gemspec'))]), [
      'formatador@1.1.0',
    ]);
  });
  trivyCases('rubygems/trivy-gemfile-lock', /\.lock$/, parseGemfileLock);
  it('syft-ruby Gemfile.lock', () => {
    assert.deepEqual(
      ids(parseGemfileLock(read('rubygems/syft-ruby/Gemfile.lock'))),
      wantIds(syftWant('rubygems/syft-ruby/Gemfile.lock.expected.json')),
    );
  });
});

describe('PHP: composer.lock and vendor/composer/installed.json (trivy, syft)', () => {
  // The peer keeps Composer's `v` prefix (v1.27.0); ours drops it, as advisories write versions.
  trivyCases('packagist/trivy-composer-lock', /\.lock$/, parseComposerLock, (w) =>
    w.map((x) => ({ ...x, Version: x.Version.replace(/^v(?=\d)/, '') })),
  );
  it('syft-php composer.lock: packages and packages-dev', () => {
    const got = parseComposerLock(read('packagist/syft-php/composer.lock'));
    assert.deepEqual(
      ids(got.filter((p) => !p.dev)),
      wantIds(syftWant('packagist/syft-php/composer.lock.expected.json') as Want[]),
    );
    assert.equal(got.filter((p) => p.dev).length, 2);
  });
  it('installed.json of Composer 1 (a list) and Composer 2 (packages + dev-package-names)', () => {
    const v1 = parseInstalledJson(read('packagist/syft-php/vendor/composer_1/installed.json'));
    const v2 = parseInstalledJson(read('packagist/syft-php/vendor/composer_2/installed.json'));
    assert.equal(v1.length, 2);
    assert.ok(v2.length >= 1);
    assert.deepEqual(
      v2.filter((p) => p.dev).map((p) => p.name),
      ['behat/mink'],
    );
    for (const p of [...v1, ...v2]) assert.match(p.version, /^\d/, `${p.name} ${p.version}`);
  });
});

describe('.NET: deps.json and packages.lock.json (trivy, syft)', () => {
  // The peer also lists the application's own projects (type "project"); they are not NuGet
  // packages, so ours leave them out.
  const projects = (f: string) =>
    new Set(
      Object.entries((json('nuget/trivy-deps-json', f).libraries ?? {}) as Record<string, { type: string }>)
        .filter(([, l]) => l.type === 'project')
        .map(([k]) => k.replace('/', '@')),
    );
  trivyCases('nuget/trivy-deps-json', /\.deps\.json$/, parseDepsJson, (w, f) =>
    w.filter((x) => !projects(f).has(`${x.Name}@${x.Version}`)),
  );
  trivyCases('nuget/trivy-packages-lock', /\.json$/, parsePackagesLock);
  it('syft-dotnet packages.lock.json', () => {
    assert.deepEqual(
      ids(parsePackagesLock(read('nuget/syft-dotnet/packages.lock.json'))),
      wantIds(syftWant('nuget/syft-dotnet/packages.lock.json.expected.json') as Want[]),
    );
  });
});

describe('Rust: Cargo.lock (trivy, syft)', () => {
  trivyCases('cargo/trivy-cargo-lock', /\.lock$/, parseCargoLock);
  // The peer lists a crate twice when the same version comes from git and from the registry;
  // ours lists it once (one version, one set of advisories), so sets are compared.
  for (const f of ['Cargo.lock', 'Cargo.lock-with-git-deps']) {
    it(`syft-rust/${f}`, () => {
      const want = [...new Set(wantIds(syftWant('cargo/syft-rust', `${f}.expected.json`) as Want[]))];
      assert.deepEqual(ids(parseCargoLock(read('cargo/syft-rust', f))), want);
    });
  }
});
