import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDepsJson, parsePackagesLock } from '../../../src/catalog/dotnet.js';
import { parseComposerLock, parseInstalledJson } from '../../../src/catalog/php.js';
import { parseGemfileLock, parseGemspec } from '../../../src/catalog/ruby.js';
import { parseCargoLock } from '../../../src/catalog/rust.js';
import type { Pinned } from '../../../src/catalog/files.js';
import { parseGoMod, parseGoSum } from '../../../src/catalog/golang-mod.js';
import { parsePoetryLock, parseUvLock } from '../../../src/catalog/python-tomls.js';
import { parsePnpmLock } from '../../../src/catalog/pnpm-lock.js';
import { parseBunLock } from '../../../src/catalog/bun-lock.js';
import { parsePylock } from '../../../src/catalog/python-tomls.js';
import { parsePackagesConfig, parsePackagesProps } from '../../../src/catalog/dotnet.js';
import { catalogImage } from '../../../src/catalog/index.js';
import {
  importedManagement,
  parsePom,
  pomCataloger,
  pomDependencies,
  PomBudget,
  PomScan,
  type Pom,
  type PomRepository,
} from '../../../src/catalog/java/pom.js';
import { pomManyExpansions } from '../../fuzz/hostile-inputs.js';
import { openImage } from '../../../src/image/open.js';
import { existsSync } from 'node:fs';
import { shared } from '../../helpers/paths.js';

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
    it(`${folder}/${f}`, (t) => {
      const c = json(folder, `${f}.expected.json`).cases[0];
      if (typeof (c.want ?? c.wantPkgs) === 'string')
        return t.skip(`the expectation is the peer's Go variable ${c.want ?? c.wantPkgs}, not transcribed`);
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

describe('Python: poetry.lock and uv.lock (trivy)', () => {
  trivyCases('pypi/trivy-poetry-lock', /\.lock$/, parsePoetryLock);
  // The peer lists the project itself as the root; it is not a PyPI package, so ours leaves it out.
  trivyCases('pypi/trivy-uv-lock', /uv_normal\.lock$/, parseUvLock, (w) =>
    w.filter((x) => x.Relationship !== 'ftypes.RelationshipRoot'),
  );
  it('uv.lock without exactly one root: the peer refuses it; ours lists the packages, none flagged dev', () => {
    for (const f of ['uv_multiple_roots.lock', 'uv_without_root.lock']) {
      assert.match(json('pypi/trivy-uv-lock', `${f}.expected.json`).cases[0].wantErr, /must contain 1 root/);
      const got = parseUvLock(read('pypi/trivy-uv-lock', f));
      assert.ok(got.length > 0, f);
      if (f === 'uv_without_root.lock') assert.ok(got.every((p) => !p.dev));
    }
  });
});

describe('Go: go.mod and go.sum (trivy)', () => {
  const dir = fx('go/trivy-go-mod');
  for (const d of readdirSync(dir)) {
    const file = readdirSync(`${dir}/${d}`)
      .find((n) => n.endsWith('.expected.json'))!
      .replace(/\.expected\.json$/, '');
    it(`trivy-go-mod/${d}`, () => {
      // The table row with replace directives applied, as a build sees them.
      const c = json('go/trivy-go-mod', d, `${file}.expected.json`).cases.find(
        (x: { wantPkgs?: unknown[]; replace?: boolean }) => x.replace !== false && x.wantPkgs?.length,
      );
      // The root module is the project, not a dependency. For go < 1.17 the peer drops `// indirect`
      // requirements (it takes them from go.sum); ours keeps them: they are the selected versions.
      let want = (c.wantPkgs as Want[]).filter((w) => w.Relationship !== 'ftypes.RelationshipRoot');
      const got = parseGoMod(read('go/trivy-go-mod', d, file));
      if (d === 'go116')
        want = [...want, { Name: 'gopkg.in/yaml.v3', Version: 'v3.0.0-20210107192922-496545a6307b' }];
      assert.deepEqual(ids(got), wantIds(want));
    });
  }
  for (const f of readdirSync(fx('go/trivy-go-sum')).filter((n) => n.endsWith('.sum'))) {
    it(`trivy-go-sum/${f}`, () => {
      const want = json('go/trivy-go-sum', `${f}.expected.json`).cases[0].want as Want[];
      // The peer keeps the highest version of each module; ours lists each version go.sum names.
      const got = parseGoSum(read('go/trivy-go-sum', f));
      const highest = new Map<string, string>();
      for (const w of want) highest.set(w.Name, w.Version);
      for (const [name, version] of highest)
        assert.ok(
          got.some((p) => p.name === name && p.version === version),
          `${name}@${version}`,
        );
      assert.deepEqual([...new Set(got.map((p) => p.name))].sort(), [...highest.keys()].sort());
    });
  }
});

describe('npm: pnpm-lock.yaml v5, v6 and v9 (trivy)', () => {
  // Entries without a version (a `file:` folder with no version recorded) name nothing advisories
  // could speak of and are left out; the same version under two peer sets is one package, needed
  // in production when either instance is.
  trivyCases('npm/trivy-pnpm-lock', /\.yaml$/, parsePnpmLock, (w) => {
    const withVersion = w.filter((x) => x.Version);
    return withVersion.filter(
      (x) => !x.Dev || !withVersion.some((y) => y.Name === x.Name && y.Version === x.Version && !y.Dev),
    );
  });
});

describe('Maven: pom.xml (trivy)', () => {
  // Where ours differs by design.
  const DIFFERENT: Record<string, string> = {
    'hard-requirement':
      "a transitive dependency's hard requirement [1.2.3] overrides the declared 1.2.4 only with the repository's poms; ours reports the declared version",
  };
  const base = fx('maven/trivy-pom');
  // The peer's cases marked `local` read parents and BOMs from its local repository, in the same
  // fixture folder: ours reads it as the host's local Maven repository (CUSTOMS_MAVEN_REPO).
  const before = process.env.CUSTOMS_MAVEN_REPO;
  process.env.CUSTOMS_MAVEN_REPO = `${base}/repository`;
  after(() => {
    if (before === undefined) delete process.env.CUSTOMS_MAVEN_REPO;
    else process.env.CUSTOMS_MAVEN_REPO = before;
  });
  /** The pom and its modules, recursively, as the peer aggregates them. */
  const modules = (dir: string): string[] => {
    const text = readFileSync(`${base}/${dir}/pom.xml`, 'utf8');
    const mods = [...text.matchAll(/<module>\s*([^<]+?)\s*<\/module>/g)].map((m) => `${dir}/${m[1]}`);
    return [`${dir}/pom.xml`, ...mods.filter((m) => existsSync(`${base}/${m}/pom.xml`)).flatMap(modules)];
  };
  for (const d of readdirSync(base).filter((x) => existsSync(`${base}/${x}/pom.xml.expected.json`))) {
    it(`trivy-pom/${d}`, async (t) => {
      const c = json('maven/trivy-pom', d, 'pom.xml.expected.json').cases[0];
      const w = c.want ?? c.wantPkgs;
      if (!Array.isArray(w) || w.some((x: object) => 'call' in x))
        return t.skip('the expectation is built by Go helper calls, not transcribed');
      if (DIFFERENT[d]) return t.skip(DIFFERENT[d]);
      const want = [
        ...new Set(
          (w as Want[])
            .filter((x) => x.Relationship === 'ftypes.RelationshipDirect' && x.Version)
            .map((x) => `${x.Name}@${x.Version}`),
        ),
      ].sort();
      const image = await openImage(`dir:${base}/${d}`, { wants: (p) => pomCataloger.wants(p) });
      const inv = await catalogImage(image, [pomCataloger]);
      const poms = new Set(modules(d).map((m) => `/${m.slice(d.length + 1)}`.replace(/\/\.\//g, '/')));
      const got = inv.packages.filter((p) => poms.has(p.locations[0].path) && !p.description);
      assert.deepEqual([...new Set(got.map((p) => `${p.name}@${p.version}`))].sort(), want);
    });
  }
  it('BOMs that import each other in circles and fan out are each read once', async () => {
    // 30 BOMs, each importing all 30: followed naively, 30^depth imports.
    const boms = Array.from({ length: 30 }, (_, i) => `b${i}`);
    const pom = (a: string): Pom => ({
      groupId: 'evil',
      artifactId: a,
      version: '1',
      properties: {},
      dependencies: [],
      managed: [
        { groupId: 'org.example', artifactId: `dep-${a}`, version: `1.${a.slice(1)}` },
        ...boms.map((b) => ({ groupId: 'evil', artifactId: b, version: '1', scope: 'import' })),
      ],
    });
    let reads = 0;
    const repo: PomRepository = {
      get: async (_g, a) => {
        reads++;
        return a && boms.includes(a) ? pom(a) : undefined;
      },
    };
    const managed = await importedManagement([pom('b0')], repo);
    assert.equal(managed.get('org.example:dep-b29')?.version, '1.29');
    assert.ok(reads <= 30, `${reads} reads`);
  });

  it("the scan's budget is checked as it is spent, not between poms (issue 33, round four)", async () => {
    // Entries: one pom of 10,000 dependencies against a budget of 100 walks about 100 of them.
    const many: Pom = {
      properties: {},
      managed: [],
      dependencies: Array.from({ length: 10_000 }, (_, i) => ({
        groupId: 'g',
        artifactId: `a${i}`,
        version: '1',
      })),
    };
    let budget = new PomBudget(1 << 30, 100);
    let r = pomDependencies([many], [], budget);
    assert.ok(r.cut && r.pins.length <= 101 && budget.entries <= 101, `${r.pins.length} pins`);
    // Expansion: 1,000 distinct 4,000-character values, each allowed, against a budget of 100,000.
    budget = new PomBudget(100_000);
    r = pomDependencies([parsePom(pomManyExpansions(1000))], [], budget);
    assert.ok(r.cut && budget.expanded < 100_000 + 3 * 4096, `${budget.expanded} characters`);
    // BOMs: 200 sharing one parent of 5,000 entries are merged once, and walked within the budget.
    const parent: Pom = {
      groupId: 'e',
      artifactId: 'p',
      version: '1',
      properties: {},
      dependencies: [],
      managed: Array.from({ length: 5_000 }, (_, i) => ({ groupId: 'g', artifactId: `a${i}`, version: '1' })),
    };
    const bom = (a: string): Pom => ({
      artifactId: a,
      parent: { groupId: 'e', artifactId: 'p', version: '1' },
      properties: {},
      dependencies: [],
      managed: [],
    });
    const repo: PomRepository = {
      get: async (_g, a) => (a === 'p' ? parent : a?.startsWith('b') ? bom(a) : undefined),
    };
    const app: Pom = {
      properties: {},
      dependencies: [{ groupId: 'g', artifactId: 'a7' }],
      managed: Array.from({ length: 200 }, (_, i) => ({
        groupId: 'e',
        artifactId: `b${i}`,
        version: '1',
        scope: 'import',
      })),
    };
    const scan = new PomScan(repo);
    const imported = await scan.imports([app]);
    assert.equal(imported.length, 1, 'one merged map');
    assert.equal(imported[0].get('g:a7')?.version, '1');
    const spent = scan.budget.entries;
    assert.equal((await scan.imports([app]))[0], imported[0], 'the same list is not merged again');
    assert.equal(scan.budget.entries, spent);
    const tight = new PomScan(repo, undefined, new PomBudget(1 << 30, 50_000));
    assert.equal(pomDependencies([app], await tight.imports([app]), tight.budget).cut, true);
    assert.ok(tight.budget.entries <= 50_001, `${tight.budget.entries} entries`);
    // Parsing: the bytes of pom parsed are charged before the parse; past the bound, none is read.
    const small = new PomBudget(1 << 30, 1 << 30, 1000);
    assert.equal(small.parse(600), true);
    assert.equal(small.parse(600), false);
    assert.equal(small.spent, true);
  });

  it("a BOM and a parent from a local repository inside the image (a build stage's /root/.m2)", async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'customs-m2-'));
    try {
      cpSync(`${base}/import-dependency-management/pom.xml`, join(tmp, 'app/pom.xml'));
      cpSync(`${base}/repository`, join(tmp, 'root/.m2/repository'), { recursive: true });
      process.env.CUSTOMS_MAVEN_REPO = join(tmp, 'nowhere');
      const image = await openImage(`dir:${tmp}`, { wants: (p) => pomCataloger.wants(p) });
      const inv = await catalogImage(image, [pomCataloger]);
      assert.deepEqual(
        inv.packages
          .filter((p) => p.locations[0].path === '/app/pom.xml')
          .map((p) => `${p.name}@${p.version}`),
        ['org.example:example-api@1.7.30'],
      );
      // Without the repository the version is left out, with a warning.
      rmSync(join(tmp, 'root'), { recursive: true });
      const bare = await catalogImage(
        await openImage(`dir:${tmp}`, { wants: (p) => pomCataloger.wants(p) }),
        [pomCataloger],
      );
      assert.deepEqual(bare.packages, []);
      assert.ok(
        bare.warnings.some((x) => /no version for org\.example:example-api/.test(x)),
        bare.warnings.join('\n'),
      );
    } finally {
      process.env.CUSTOMS_MAVEN_REPO = `${base}/repository`;
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('bun.lock, pylock.toml, packages.config and packages.props (trivy)', () => {
  // The peer also lists the workspaces (the project's own folders); ours lists their dependencies.
  trivyCases('npm/trivy-bun-lock', /\.lock$/, parseBunLock, (w, f) =>
    f === 'bun_multiple_ws.lock' ? w.filter((x) => !['my-app', 'my-lib'].includes(x.Name)) : w,
  );
  trivyCases('pypi/trivy-pylock', /\.toml$/, parsePylock);
  trivyCases('nuget/trivy-packages-config', /\.config$/, parsePackagesConfig);
  for (const f of readdirSync(fx('nuget/trivy-packages-props')).filter(
    (n) => !n.endsWith('.expected.json'),
  )) {
    it(`nuget/trivy-packages-props/${f}`, () => {
      const c = json('nuget/trivy-packages-props', `${f}.expected.json`).cases[0];
      const text = read('nuget/trivy-packages-props', f);
      if (c.wantErr) return void assert.throws(() => parsePackagesProps(text));
      // `[]ftypes.Package(nil)`: no packages.
      const want = Array.isArray(c.want) ? (c.want as Want[]) : [];
      assert.deepEqual(ids(parsePackagesProps(text)), wantIds(want));
    });
  }
  it('pyproject.toml is not read: it declares ranges, not the versions installed', (t) => {
    const c = json('pypi/trivy-pyproject', 'happy.toml.expected.json').cases[0];
    assert.ok(c.want, 'the peer reads only dependency names from it');
    t.skip('the peer extracts dependency names for its dependency graph; no versions to list or match');
  });
});
