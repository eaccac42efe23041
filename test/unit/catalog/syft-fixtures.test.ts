import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { catalogImage, sourceTreeCatalogers } from '../../../src/catalog/index.js';
import { parseDepsJson, parsePackagesLock } from '../../../src/catalog/dotnet.js';
import type { Pinned } from '../../../src/catalog/files.js';
import { parseGoMod, parseGoSum } from '../../../src/catalog/golang-mod.js';
import { parsePackageJson } from '../../../src/catalog/npm.js';
import { parsePackageLock } from '../../../src/catalog/npm-lock.js';
import { parseComposerLock, parseInstalledJson, parsePeclRegistry } from '../../../src/catalog/php.js';
import { parsePnpmLock } from '../../../src/catalog/pnpm-lock.js';
import { parsePythonMetadata } from '../../../src/catalog/python.js';
import { parsePipfileLock, parseRequirements } from '../../../src/catalog/python-locks.js';
import { parsePdmLock, parsePoetryLock, parseUvLock } from '../../../src/catalog/python-tomls.js';
import { parseGemfileLock, parseGemspec } from '../../../src/catalog/ruby.js';
import { parseCargoLock } from '../../../src/catalog/rust.js';
import { parseYarnLock } from '../../../src/catalog/yarn-lock.js';
import { openImage } from '../../../src/image/open.js';
import { shared } from '../../helpers/paths.js';

// syft's expectations for the ecosystems Customs catalogues (fixtures/README.md): the package set
// (name and version) of each fixture must match, or the test says why ours differs.
const ROOTS = [
  'npm/syft-javascript',
  'pypi/syft-python',
  'go/syft-golang',
  'nuget/syft-dotnet',
  'cargo/syft-rust',
  'rubygems/syft-ruby',
  'packagist/syft-php',
];
const fx = (...p: string[]) => shared('fixtures', ...p);

/** Which parser reads a fixture file, by its name. */
const PARSERS: Array<[RegExp, (buf: Buffer) => Array<{ name: string; version: string }>]> = [
  [/\.deps\.json$/, (b) => parseDepsJson(b.toString('utf8'))],
  [/packages\.lock\.json$/, (b) => parsePackagesLock(b.toString('utf8'))],
  [/package-lock[^/]*\.json$/, (b) => parsePackageLock(b.toString('utf8'))],
  [
    /(^|\/)package[^/]*\.json$/,
    (b) => {
      const m = parsePackageJson(b.toString('utf8'));
      return 'error' in m ? [] : [m];
    },
  ],
  [/yarn[^/]*\.lock$/, (b) => parseYarnLock(b.toString('utf8'))],
  [/pnpm-lock[^/]*\.yaml$/, (b) => parsePnpmLock(b.toString('utf8'))],
  [
    /(METADATA|PKG-INFO[^/]*)$|\.egg-info$/,
    (b) => {
      const m = parsePythonMetadata(b.toString('utf8'));
      return m ? [m] : [];
    },
  ],
  [/requirements[^/]*\.txt$/, (b) => parseRequirements(b)],
  [/Pipfile\.lock$/, (b) => parsePipfileLock(b.toString('utf8'))],
  [/poetry[^/]*\.lock$/, (b) => parsePoetryLock(b.toString('utf8'))],
  [/uv[^/]*\.lock$/, (b) => parseUvLock(b.toString('utf8'))],
  [/pdm[^/]*\.lock$/, (b) => parsePdmLock(b.toString('utf8'))],
  [/go\.mod$/, (b) => parseGoMod(b.toString('utf8')).filter((p) => p.name !== 'stdlib')],
  [/go\.sum$/, (b) => parseGoSum(b.toString('utf8'))],
  [/Cargo\.lock[^/]*$/, (b) => parseCargoLock(b.toString('utf8'))],
  [/Gemfile[^/]*\.lock$/, (b) => parseGemfileLock(b.toString('utf8'))],
  [/\.gemspec$/, (b) => [parseGemspec(b.toString('utf8'))]],
  [/composer[^/]*\.lock$/, (b) => parseComposerLock(b.toString('utf8'))],
  [/installed\.json$/, (b) => parseInstalledJson(b.toString('utf8'))],
  [/\.reg$/, (b) => parsePeclRegistry(b)],
];

/** Literal `{Name, Version}` objects of an expectation (Go helper calls are not transcribed). */
function literalPkgs(e: unknown): Array<{ Name: string; Version: string }> | undefined {
  const list = Array.isArray(e) ? e : e && typeof e === 'object' && 'Name' in e ? [e] : undefined;
  if (!list) return undefined;
  if (list.some((x) => !x || typeof x !== 'object' || !('Name' in x) || 'call' in x)) return undefined;
  return list as Array<{ Name: string; Version: string }>;
}

function expectationOf(doc: Record<string, unknown>): Array<{ Name: string; Version: string }> | string {
  if (doc.expected && typeof doc.expected === 'object') {
    const e = (doc.expected as Record<string, unknown>).expectedPkgs;
    return literalPkgs(e) ?? 'the expected packages are built by Go code, not transcribed';
  }
  const c = (doc.cases as Array<Record<string, unknown>> | undefined)?.[0];
  if (!c) return 'no expectation';
  // Python core-metadata cases: the package is inside the expected metadata.
  const pyPkg = (c.ExpectedMetadata as { PythonPackage?: { Name?: string; Version?: string } } | undefined)
    ?.PythonPackage;
  if (pyPkg?.Name) return [{ Name: pyPkg.Name, Version: pyPkg.Version ?? '' }];
  for (const k of [
    'ExpectedPkg',
    'expectedPkg',
    'wantPkg',
    'expected',
    'expectedPkgs',
    'expectedPackages',
    'want',
    'wantPkgs',
  ]) {
    if (k in c) return literalPkgs(c[k]) ?? `the case's ${k} is built by Go code, not transcribed`;
  }
  return `no package expectation in the case (${Object.keys(c).join(', ')})`;
}

/** Where ours differs from syft by design. */
const ALIAS =
  'an alias (`x@npm:real@1.0`): ours names the real package, which is what advisories name; the peer names the alias';
const BARE =
  'the fixture names its metadata folder bare `dist-info`/`egg-info` (or a `.egg-info` file outside site-packages); pip writes NAME-VERSION.dist-info, which is what ours reads';
const DIFFERENT: Record<string, string> = {
  'npm/syft-javascript/yarn/yarn.lock.expected.json': ALIAS,
  'npm/syft-javascript/yarn-v1-deps/yarn.lock.expected.json': ALIAS,
  'npm/syft-javascript/yarn-dups/yarn.lock.expected.json': `${ALIAS}; and a git dependency names no published version, so ours leaves it out`,
  'npm/syft-javascript/pnpm-multi-doc/pnpm-lock.yaml.expected.json':
    "the first YAML document is pnpm's own toolchain (packageManagerDependencies), not the project's dependencies; ours reads the project's",
  'npm/syft-javascript/yarn-berry/yarn.lock.expected.json':
    'the peer lists the workspace itself (`name@workspace:.`, the project); ours lists its dependencies',
  'pypi/syft-python/site-packages/malformed-record/expected.json': BARE,
  'pypi/syft-python/site-packages/nested/expected.json': BARE,
  'pypi/syft-python/site-packages/partial.dist-info/expected.json': BARE,
  'pypi/syft-python/site-packages/test/expected.json': BARE,
  'pypi/syft-python/site-packages/uppercase/expected.json': BARE,
  'nuget/syft-dotnet/dir-example-1/expected.json':
    'the peer lists every library of deps.json, the projects and compile-only references included; ours lists the packages the application loads (runtime assets), as trivy does',
};

/**
 * Ours, all and without development dependencies: syft leaves dev dependencies out for some
 * formats (npm, Pipfile) and not for others (poetry); ours keeps them flagged dev.
 */
async function ours(path: string): Promise<{ all: string[]; nonDev: string[] }> {
  const ids = (list: Array<{ name: string; version: string }>) =>
    [...new Set(list.filter((p) => p.version).map((p) => `${p.name}@${p.version}`))].sort();
  if (statSync(path).isDirectory()) {
    const image = await openImage(`dir:${path}`, {
      wants: (p) => sourceTreeCatalogers.some((c) => c.wants(p)),
    });
    const inv = await catalogImage(image, sourceTreeCatalogers, true);
    const lang = inv.packages.filter((p) => !['apk', 'deb', 'rpm'].includes(p.type));
    const named = lang.map((p) =>
      p.type === 'pypi' ? { ...p, name: p.name.toLowerCase().replace(/[-_.]+/g, '-') } : p,
    );
    return { all: ids(named), nonDev: ids(named.filter((p) => p.description !== 'development dependency')) };
  }
  const parser = PARSERS.find(([re]) => re.test(path));
  if (!parser) throw new Error(`no parser for ${path}`);
  const list = (parser[1](readFileSync(path)) as Pinned[]).map((p) =>
    /\/pypi\//.test(path) ? { ...p, name: p.name.toLowerCase().replace(/[-_.]+/g, '-') } : p,
  );
  return { all: ids(list), nonDev: ids(list.filter((p) => !p.dev)) };
}

/** A lockfile's own project (its top-level name and version) is not one of its dependencies. */
function project(path: string): string | undefined {
  if (statSync(path).isDirectory() || !/\.json$/.test(path)) return undefined;
  try {
    const j = JSON.parse(readFileSync(path, 'utf8')) as {
      name?: string;
      version?: string;
      packages?: Record<string, { name?: string; version?: string }>;
    };
    const root = j.packages?.[''] ?? j;
    return root.name && root.version && /lock/.test(path) ? `${root.name}@${root.version}` : undefined;
  } catch {
    return undefined;
  }
}

function expectations(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('expected.json')) out.push(p);
    }
  };
  walk(fx(root));
  return out.sort();
}

for (const root of ROOTS) {
  describe(`syft fixtures: ${root}`, () => {
    for (const file of expectations(root)) {
      const rel = relative(fx(root), file);
      it(rel, async (t) => {
        const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
        const want = expectationOf(doc);
        if (typeof want === 'string') return t.skip(want);
        if (DIFFERENT[`${root}/${rel}`]) return t.skip(DIFFERENT[`${root}/${rel}`]);
        const fixture =
          rel.endsWith('/expected.json') || rel === 'expected.json'
            ? join(file, '..')
            : file.replace(/\.expected\.json$/, '');
        if (!existsSync(fixture)) return t.skip(`fixture ${relative(fx(root), fixture)} is not in shared/`);
        if (!statSync(fixture).isDirectory() && !PARSERS.some(([re]) => re.test(fixture)))
          return t.skip(`not a format Customs reads: ${relative(fx(root), fixture)}`);
        const got = await ours(fixture);
        const self = project(fixture);
        // Python names compare as PEP 503 says (Pygments is pygments).
        const norm = (n: string) => (root.startsWith('pypi/') ? n.toLowerCase().replace(/[-_.]+/g, '-') : n);
        const expected = [
          ...new Set(want.filter((w) => w.Version).map((w) => `${norm(w.Name)}@${w.Version}`)),
        ]
          .filter((x) => x !== self)
          .sort();
        assert.deepEqual(
          JSON.stringify(got.all) === JSON.stringify(expected) ? got.all : got.nonDev,
          expected,
        );
      });
    }
  });
}
