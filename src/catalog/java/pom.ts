import { posix } from 'node:path';
import type { XMLParser } from 'fast-xml-parser';
import { fastXml } from '../lazy-parsers.js';
import type { LayeredFileSystem } from '../../image/filesystem.js';
import type { CatalogContext, Cataloger, Package } from '../model.js';
import { mavenPurl } from './index.js';

/**
 * pom.xml in source trees: the declared dependencies whose versions can be settled from the tree
 * itself — literal versions, properties of the pom and of its parents found by `relativePath`,
 * `project.*` values, and dependencyManagement of the same chain. Nothing is fetched: a version
 * that needs a remote parent or a BOM not in the tree is left out with a warning, and transitive
 * dependencies (which need the repository's poms) are not listed.
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

export function pomDependencies(chain: PomChain): {
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

async function loadChain(fs: LayeredFileSystem, path: string, first: Pom): Promise<PomChain> {
  const chain: PomChain = [first];
  let dir = posix.dirname(path);
  for (let pom = first; pom.parent && chain.length < 10;) {
    let rel = pom.parent.relativePath ?? '../pom.xml';
    if (!rel.endsWith('.xml')) rel = posix.join(rel, 'pom.xml');
    const parentPath = posix.normalize(posix.join(dir, rel));
    if (parentPath.startsWith('..')) break;
    const content = await fs.readFile(parentPath);
    if (!content) break;
    let parent: Pom;
    try {
      parent = parsePom(content.toString('utf8'));
    } catch {
      break;
    }
    // relativePath is only a hint: the pom found there must be the parent named.
    if (parent.artifactId !== pom.parent.artifactId) break;
    chain.push(parent);
    pom = parent;
    dir = posix.dirname(parentPath);
  }
  return chain;
}

export const pomCataloger: Cataloger = {
  name: 'pom-xml',
  // Every pom.xml is wanted: a parent is read through the file system, which keeps wanted files only.
  wants: (p) => /(^|\/)pom\.xml$/.test(p),
  async catalog(ctx: CatalogContext): Promise<Package[]> {
    const out: Package[] = [];
    for (const [path, entry] of ctx.fs.analysed()) {
      if (entry.content === undefined || !/(^|\/)pom\.xml$/.test(path)) continue;
      const content = await ctx.fs.readFile(path);
      if (!content) continue;
      let pom: Pom;
      try {
        pom = parsePom(content.toString('utf8'));
      } catch (err) {
        ctx.warnings.push(`/${path}: not a readable pom.xml (${(err as Error).message}); skipped`);
        continue;
      }
      const { pins, unresolved } = pomDependencies(await loadChain(ctx.fs, path, pom));
      if (unresolved.length)
        ctx.warnings.push(
          `/${path}: no version in the tree for ${unresolved.join(', ')} (a remote parent or BOM?); left out`,
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
