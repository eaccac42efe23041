import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, posix } from 'node:path';
import type { XMLParser } from 'fast-xml-parser';
import { fastXml } from '../lazy-parsers.js';
import type { LayeredFileSystem } from '../../image/filesystem.js';
import type { CatalogContext, Cataloger, Package } from '../model.js';
import { mavenPurl } from './index.js';

/**
 * pom.xml in source trees: the declared dependencies whose versions can be settled offline —
 * literal versions, properties of the pom and of its parents, `project.*` values, dependencyManagement
 * of the same chain and of the BOMs it imports. Parents are found by `relativePath` in the tree,
 * else, like parents and BOMs that are not in the tree, in a local Maven repository: one inside the
 * scanned tree (`…/.m2/repository`, as a build stage leaves it) or the host's (`$CUSTOMS_MAVEN_REPO`,
 * else `~/.m2/repository`). A released artifact's pom is the same wherever it is found, so the
 * host's copy answers for the image's coordinates. Nothing is fetched: a version that needs a pom
 * found nowhere is left out with a warning, and transitive dependencies are not listed.
 */

interface Dep {
  groupId?: string;
  artifactId?: string;
  version?: string;
  scope?: string;
}

export interface Pom {
  groupId?: string;
  artifactId?: string;
  version?: string;
  parent?: { groupId?: string; artifactId?: string; version?: string; relativePath?: string };
  properties: Record<string, string>;
  managed: Dep[];
  dependencies: Dep[];
}

let parser: XMLParser | undefined;
const xml = (): XMLParser =>
  (parser ??= new (fastXml().XMLParser)({
    ignoreAttributes: true,
    parseTagValue: false,
    trimValues: true,
    isArray: (name) => name === 'dependency',
  }));
const str = (v: unknown) =>
  typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : undefined;
const deps = (node: unknown): Dep[] => {
  const list = (node as { dependency?: unknown[] } | undefined)?.dependency ?? [];
  return list.map((d) => {
    const o = d as Record<string, unknown>;
    return {
      groupId: str(o.groupId),
      artifactId: str(o.artifactId),
      version: str(o.version),
      scope: str(o.scope),
    };
  });
};

export function parsePom(text: string): Pom {
  const doc = xml().parse(text) as { project?: Record<string, unknown> };
  const p = doc.project;
  if (!p || typeof p !== 'object') throw new Error('no <project> element');
  const parent = p.parent as Record<string, unknown> | undefined;
  const props: Record<string, string> = {};
  for (const [k, v] of Object.entries((p.properties as Record<string, unknown>) ?? {})) {
    const s = str(v);
    if (s !== undefined) props[k] = s;
  }
  return {
    groupId: str(p.groupId),
    artifactId: str(p.artifactId),
    version: str(p.version),
    parent: parent
      ? {
          groupId: str(parent.groupId),
          artifactId: str(parent.artifactId),
          version: str(parent.version),
          relativePath: str(parent.relativePath),
        }
      : undefined,
    properties: props,
    managed: deps((p.dependencyManagement as Record<string, unknown> | undefined)?.dependencies),
    dependencies: deps(p.dependencies),
  };
}

/** A pom with its parents (nearest first), as far as the tree holds them. */
export type PomChain = Pom[];

/** Resolve `${…}` against the chain: the pom's own properties win over its parents'. */
function interpolate(value: string | undefined, chain: PomChain): string | undefined {
  if (value === undefined) return undefined;
  const self = chain[0];
  const project: Record<string, string | undefined> = {
    'project.version': self.version ?? self.parent?.version,
    'project.groupId': self.groupId ?? self.parent?.groupId,
    'project.artifactId': self.artifactId,
    'project.parent.version': self.parent?.version,
    'project.parent.groupId': self.parent?.groupId,
  };
  project['pom.version'] = project['project.version'];
  let out = value;
  for (let i = 0; i < 10 && out.includes('${'); i++) {
    out = out.replace(/\$\{([^}]+)\}/g, (m, name: string) => {
      // The model's own values come first: a property named project.version does not override it.
      if (project[name] !== undefined) return project[name]!;
      for (const pom of chain) if (pom.properties[name] !== undefined) return pom.properties[name];
      return m;
    });
  }
  return out;
}

export function pomDependencies(
  chain: PomChain,
  imported: Map<string, { version?: string; scope?: string }> = new Map(),
): {
  pins: Array<{ name: string; version: string; dev: boolean }>;
  unresolved: string[];
} {
  const managed = new Map<string, { version?: string; scope?: string }>();
  // Nearest first: the child's dependencyManagement wins.
  for (const pom of chain)
    for (const d of pom.managed) {
      const key = `${interpolate(d.groupId, chain)}:${interpolate(d.artifactId, chain)}`;
      if (d.scope !== 'import' && !managed.has(key))
        managed.set(key, { version: interpolate(d.version, chain), scope: d.scope });
      // What imported BOMs manage comes after the chain's own entries.
      for (const [key, m] of imported) if (!managed.has(key)) managed.set(key, m);
    }
  const pins = new Map<string, { name: string; version: string; dev: boolean }>();
  const unresolved: string[] = [];
  for (const pom of chain)
    for (const d of pom.dependencies) {
      const name = `${interpolate(d.groupId, chain)}:${interpolate(d.artifactId, chain)}`;
      if (pins.has(name) || d.scope === 'system') continue;
      const version = interpolate(d.version, chain) ?? managed.get(name)?.version;
      if (!version || version.includes('${') || /^[[(]|,/.test(version)) {
        unresolved.push(name);
        continue;
      }
      // A dependency without a scope takes the one dependencyManagement gives it.
      const scope = d.scope ?? managed.get(name)?.scope;
      pins.set(name, { name, version, dev: scope === 'test' || scope === 'provided' });
    }
  return { pins: [...pins.values()], unresolved };
}

/** Poms by coordinates, from local Maven repositories (in the tree, then the host's). */
export interface PomRepository {
  get(groupId?: string, artifactId?: string, version?: string): Promise<Pom | undefined>;
}

// Coordinates become a path: nothing that could climb out of the repository.
const COORD = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const MAX_POM = 1024 * 1024;
/** BOMs read for one project at most (Spring Boot's imports some 40 transitively). */
const MAX_BOMS = 200;

export function pomRepository(fs: LayeredFileSystem, hostRoot = hostRepository()): PomRepository {
  const roots = new Set<string>();
  for (const [path] of fs.analysed()) {
    const m = /^(.*?(?:^|\/)\.m2\/repository)\//.exec(path);
    if (m) roots.add(m[1]);
  }
  const cache = new Map<string, Promise<Pom | undefined>>();
  const parse = (b: Buffer | undefined) => {
    if (!b || b.length > MAX_POM) return undefined;
    try {
      return parsePom(b.toString('utf8'));
    } catch {
      return undefined;
    }
  };
  return {
    get(g, a, v) {
      if (!g || !a || !v || ![g, a, v].every((x) => COORD.test(x) && !x.includes('..')))
        return Promise.resolve(undefined);
      const rel = `${g.replace(/\./g, '/')}/${a}/${v}/${a}-${v}.pom`;
      let p = cache.get(rel);
      if (!p) {
        p = (async () => {
          for (const root of roots) {
            const pom = parse(await fs.readFile(`${root}/${rel}`));
            if (pom) return pom;
          }
          if (!hostRoot) return undefined;
          const file = join(hostRoot, rel);
          try {
            if (existsSync(file) && statSync(file).size <= MAX_POM) return parse(readFileSync(file));
          } catch {
            // unreadable: as if absent
          }
          return undefined;
        })();
        cache.set(rel, p);
      }
      return p;
    },
  };
}

function hostRepository(): string | undefined {
  const dir = process.env.CUSTOMS_MAVEN_REPO || join(homedir(), '.m2', 'repository');
  return existsSync(dir) ? dir : undefined;
}

/**
 * A pom and its parents: through `relativePath` in the tree while they are there (`tree`: where the
 * pom was read), else from the repository by their coordinates.
 */
async function loadChain(
  first: Pom,
  repo: PomRepository,
  tree?: { fs: LayeredFileSystem; path: string },
): Promise<PomChain> {
  const chain: PomChain = [first];
  let dir: string | undefined = tree && posix.dirname(tree.path);
  for (let pom = first; pom.parent && chain.length < 10;) {
    let parent: Pom | undefined;
    if (dir !== undefined) {
      let rel = pom.parent.relativePath ?? '../pom.xml';
      if (!rel.endsWith('.xml')) rel = posix.join(rel, 'pom.xml');
      const parentPath = posix.normalize(posix.join(dir, rel));
      const content = parentPath.startsWith('..') ? undefined : await tree!.fs.readFile(parentPath);
      try {
        parent = content ? parsePom(content.toString('utf8')) : undefined;
      } catch {
        parent = undefined;
      }
      // relativePath is only a hint: the pom found there must be the parent named.
      if (parent && parent.artifactId === pom.parent.artifactId) dir = posix.dirname(parentPath);
      else parent = undefined;
    }
    if (!parent) {
      // Not in the tree: the repository's, by its coordinates (and its own parents from there on).
      parent = await repo.get(
        interpolate(pom.parent.groupId, chain),
        interpolate(pom.parent.artifactId, chain),
        interpolate(pom.parent.version, chain),
      );
      dir = undefined;
    }
    if (!parent) break;
    chain.push(parent);
    pom = parent;
  }
  return chain;
}

/** The dependencyManagement the chain's BOM imports (`scope import`) bring, in declaration order. */
export async function importedManagement(
  chain: PomChain,
  repo: PomRepository,
  // Each BOM once per project, and few in all: crafted repositories can import in circles or fan out.
  seen = new Set<string>(),
): Promise<Map<string, { version?: string; scope?: string }>> {
  const out = new Map<string, { version?: string; scope?: string }>();
  for (const pom of chain)
    for (const d of pom.managed) {
      if (d.scope !== 'import') continue;
      const gav = [d.groupId, d.artifactId, d.version].map((x) => interpolate(x, chain));
      const id = gav.join(':');
      if (seen.has(id) || seen.size >= MAX_BOMS) continue;
      seen.add(id);
      const bom = await repo.get(gav[0], gav[1], gav[2]);
      if (!bom) continue;
      const bomChain = await loadChain(bom, repo);
      for (const b of bomChain)
        for (const m of b.managed) {
          if (m.scope === 'import') continue;
          const key = `${interpolate(m.groupId, bomChain)}:${interpolate(m.artifactId, bomChain)}`;
          if (!out.has(key)) out.set(key, { version: interpolate(m.version, bomChain), scope: m.scope });
        }
      for (const [k, v] of await importedManagement(bomChain, repo, seen)) if (!out.has(k)) out.set(k, v);
    }
  return out;
}

export const pomCataloger: Cataloger = {
  name: 'pom-xml',
  // Every pom.xml is wanted: a parent is read through the file system, which keeps wanted files only.
  // So are the poms of a local Maven repository in the tree (parents and BOMs by coordinates).
  wants: (p) => /(^|\/)pom\.xml$/.test(p) || /(^|\/)\.m2\/repository\/.+\.pom$/.test(p),
  async catalog(ctx: CatalogContext): Promise<Package[]> {
    const out: Package[] = [];
    let repo: PomRepository | undefined;
    for (const [path, entry] of ctx.fs.analysed()) {
      if (entry.content === undefined || !/(^|\/)pom\.xml$/.test(path)) continue;
      repo ??= pomRepository(ctx.fs);
      const content = await ctx.fs.readFile(path);
      if (!content) continue;
      let pom: Pom;
      try {
        pom = parsePom(content.toString('utf8'));
      } catch (err) {
        ctx.warnings.push(`/${path}: not a readable pom.xml (${(err as Error).message}); skipped`);
        continue;
      }
      const chain = await loadChain(pom, repo, { fs: ctx.fs, path });
      const { pins, unresolved } = pomDependencies(chain, await importedManagement(chain, repo));
      if (unresolved.length)
        ctx.warnings.push(
          `/${path}: no version for ${unresolved.join(', ')} in the tree or a local Maven repository (a remote parent or BOM?); left out`,
        );
      const layer = ctx.fs.stat(path)?.layer;
      for (const p of pins) {
        const i = p.name.indexOf(':');
        out.push({
          name: p.name,
          version: p.version,
          type: 'maven',
          licenses: [],
          purl: mavenPurl({
            groupId: p.name.slice(0, i),
            artifactId: p.name.slice(i + 1),
            version: p.version,
          }),
          foundBy: 'pom-xml',
          locations: [{ path: `/${path}`, layer }],
          layer,
          description: p.dev ? 'development dependency' : undefined,
        });
      }
    }
    return out;
  },
};
