import { PackageURL } from 'packageurl-js';
import { parseToml } from './lazy-parsers.js';
import { lockfileCataloger, type Pinned } from './files.js';
import { pep503 } from './python.js';

/** Python TOML lockfiles of source trees: poetry.lock, uv.lock, pdm.lock and pylock.toml. */

interface TomlPackage {
  name?: string;
  version?: string;
  category?: string;
  groups?: string[];
  source?: { editable?: string; virtual?: string };
  dependencies?: Array<{ name?: string; extra?: string[] }> | Record<string, unknown>;
  'optional-dependencies'?: Record<string, Array<{ name?: string; extra?: string[] }>>;
  'dev-dependencies'?: Record<string, Array<{ name?: string }>>;
}

/**
 * poetry.lock: every `[[package]]`; dev when Poetry 1 says `category = "dev"` or Poetry 2's
 * `groups` do not include `main`.
 */
export function parsePoetryLock(text: string): Pinned[] {
  const doc = parseToml(text) as { package?: TomlPackage[] };
  return (doc.package ?? [])
    .filter((p) => p.name && p.version)
    .map((p) => ({
      name: p.name!,
      version: p.version!,
      dev: p.category === 'dev' || (Array.isArray(p.groups) && !p.groups.includes('main')),
    }));
}

/**
 * uv.lock: every `[[package]]` but the project itself (source `editable` or `virtual`: not a PyPI
 * package). A package reachable only through the project's dev-dependencies groups is dev.
 */
export function parseUvLock(text: string): Pinned[] {
  const doc = parseToml(text) as { package?: TomlPackage[] };
  const pkgs = (doc.package ?? []).filter((p) => p.name && p.version);
  const byName = new Map(pkgs.map((p) => [pep503(p.name!), p]));
  const roots = pkgs.filter((p) => p.source?.editable !== undefined || p.source?.virtual !== undefined);
  type Edge = { name: string; extras: string[] };
  const edges = (list: Array<{ name?: string; extra?: string[] }> | undefined): Edge[] =>
    (list ?? []).filter((d) => d.name).map((d) => ({ name: pep503(d.name!), extras: d.extra ?? [] }));
  // A dependency's requested extras pull in that package's optional-dependencies of those names.
  const deps = (p: TomlPackage | undefined, extras: string[]): Edge[] => [
    ...(Array.isArray(p?.dependencies) ? edges(p.dependencies) : []),
    ...extras.flatMap((x) => edges(p?.['optional-dependencies']?.[x])),
  ];
  const reach = (start: Edge[]) => {
    const seen = new Set<string>();
    const todo = [...start];
    while (todo.length) {
      const e = todo.pop()!;
      const key = `${e.name}[${e.extras.join(',')}]`;
      if (seen.has(key)) continue;
      seen.add(key);
      seen.add(e.name);
      todo.push(...deps(byName.get(e.name), e.extras));
    }
    return seen;
  };
  // The project's own extras are part of what it ships.
  const prod = reach(roots.flatMap((r) => deps(r, Object.keys(r['optional-dependencies'] ?? {}))));
  const rootNames = new Set(roots.map((r) => pep503(r.name!)));
  return pkgs
    .filter((p) => !rootNames.has(pep503(p.name!)))
    .map((p) => ({
      name: p.name!,
      version: p.version!,
      // Without a root to start from, nothing can be told apart: all count as needed.
      dev: roots.length > 0 && !prod.has(pep503(p.name!)),
    }));
}

const purl = (name: string, version: string) =>
  new PackageURL('pypi', undefined, pep503(name), version, undefined, undefined).toString();

export const poetryLockCataloger = lockfileCataloger({
  name: 'poetry-lock',
  type: 'pypi',
  wants: (p) => /(^|\/)poetry\.lock$/.test(p),
  parse: (content) => parsePoetryLock(content.toString('utf8')),
  purl,
});

export const uvLockCataloger = lockfileCataloger({
  name: 'uv-lock',
  type: 'pypi',
  wants: (p) => /(^|\/)uv\.lock$/.test(p),
  parse: (content) => parseUvLock(content.toString('utf8')),
  purl,
});

/**
 * pdm.lock: every `[[package]]` with a version, once (a package locked again with extras repeats
 * its name and version). The lock names groups but not which are dev-only groups and which are
 * optional extras, so nothing is marked dev: a finding in any of them is reported.
 */
export function parsePdmLock(text: string): Pinned[] {
  const doc = parseToml(text) as { package?: TomlPackage[] };
  const seen = new Set<string>();
  return (doc.package ?? [])
    .filter((p) => typeof p.name === 'string' && typeof p.version === 'string')
    .filter((p) => {
      const key = `${pep503(p.name!)}@${p.version}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map((p) => ({ name: p.name!, version: p.version! }));
}

export const pdmLockCataloger = lockfileCataloger({
  name: 'pdm-lock',
  type: 'pypi',
  wants: (p) => /(^|\/)pdm\.lock$/.test(p),
  parse: (content) => parsePdmLock(content.toString('utf8')),
  purl,
});

/** pylock.toml (PEP 751): every `[[packages]]` with a version. */
export function parsePylock(text: string): Pinned[] {
  const doc = parseToml(text) as {
    'lock-version'?: string;
    packages?: Array<{ name?: unknown; version?: unknown }>;
  };
  if (!doc['lock-version']) throw new Error('no lock-version: not a pylock.toml');
  return (doc.packages ?? [])
    .filter((p) => typeof p.name === 'string' && typeof p.version === 'string')
    .map((p) => ({ name: p.name as string, version: p.version as string }));
}

export const pylockCataloger = lockfileCataloger({
  name: 'pylock',
  type: 'pypi',
  wants: (p) => /(^|\/)pylock(\.[^/]+)?\.toml$/.test(p),
  parse: (content) => parsePylock(content.toString('utf8')),
  purl,
});
