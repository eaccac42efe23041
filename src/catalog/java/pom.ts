import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, posix } from 'node:path';
import type { XMLParser } from 'fast-xml-parser';
import { fastXml } from '../lazy-parsers.js';
import type { LayeredFileSystem } from '../../image/filesystem.js';
import type { CatalogContext, Cataloger, Package } from '../model.js';
import { mavenPurl } from './index.js';
import { clip, listed } from '../bounds.js';

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

/*
 * Bounds. A pom is small and its values are short, but `${…}` expansion, parent chains, BOM imports
 * and inherited dependencies multiply: a kilobyte can name gigabytes, and ten thousand modules
 * sharing one parent re-walk it ten thousand times. So every expanded value is capped, every pom
 * and BOM is read once per scan, and what one scan's poms may cost in all is bounded.
 */
/** Longest value a `${…}` expansion may produce: past it the value is unresolved, with a warning. */
export const MAX_EXPANDED = 4096;
/** Property references followed inside one another. */
const MAX_DEPTH = 10;
/** Longest groupId, artifactId or version reported (Maven's own are a few dozen characters). */
const MAX_COORD = 256;
/** Maven's rule for groupId and artifactId. */
const COORD = /^[A-Za-z0-9_.-]+$/;
/** A version as poms write them (1.2.3, 2.0.0.RELEASE, 1.0-SNAPSHOT, 3.1.0+build): no markup, no spaces. */
const VERSION = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;
/** Left unresolved (contains `${`, so every consumer treats it as such). */
const UNRESOLVED = '${…}';

/**
 * What all the poms of one scan may cost together; past any bound the rest are left out. Checked
 * as the cost is spent (each expansion, each entry walked, each pom before it is parsed), not only
 * between poms: one module's chain of ten 4 MiB parents, or two hundred BOMs sharing one, would
 * otherwise spend gigabytes before the next check.
 */
export class PomBudget {
  /** Characters produced by `${…}` expansion (what one module's memo holds is at most this). */
  expanded = 0;
  /** Dependency and dependencyManagement entries walked (inherited ones once per module). */
  entries = 0;
  /** Bytes of pom text parsed: the XML parser takes one to three seconds a megabyte on dense crafted poms (real ones are a few kilobytes; 8 MiB is some two thousand modules). */
  parsed = 0;
  constructor(
    readonly maxExpanded = 128 * 1024 * 1024,
    readonly maxEntries = 2_000_000,
    readonly maxParsed = 8 * 1024 * 1024,
  ) {}
  get spent(): boolean {
    return this.expanded > this.maxExpanded || this.entries > this.maxEntries || this.parsed > this.maxParsed;
  }
  /** Charges a pom's bytes before it is parsed; false when the scan may parse no more. */
  parse(bytes: number): boolean {
    if (this.spent) return false;
    this.parsed += bytes;
    return !this.spent;
  }
  /** The bounds, as a warning names them. */
  describe(): string {
    return `${this.maxEntries} dependency entries, ${this.maxExpanded} expanded bytes, ${this.maxParsed} bytes of poms parsed`;
  }
}

/**
 * `${…}` against one chain: the model's own values first (a property named project.version does
 * not override them), then the pom's properties, then its parents'. Each property is expanded once
 * (memoised), nested at most MAX_DEPTH deep; a reference cycle stays unresolved.
 */
class Expander {
  /** Properties (or values) whose expansion outgrew MAX_EXPANDED. */
  readonly tooLong = new Set<string>();
  /** Set when the scan's budget ran out mid-way: what is left is unresolved. */
  cut = false;
  private readonly project: Record<string, string | undefined>;
  private readonly memo = new Map<string, string | undefined>();
  constructor(
    private readonly chain: PomChain,
    private readonly budget: PomBudget,
  ) {
    const self = chain[0];
    const version = self.version ?? self.parent?.version;
    this.project = {
      'project.version': version,
      'pom.version': version,
      'project.groupId': self.groupId ?? self.parent?.groupId,
      'project.artifactId': self.artifactId,
      'project.parent.version': self.parent?.version,
      'project.parent.groupId': self.parent?.groupId,
    };
  }
  private lookup(name: string): string | undefined {
    if (this.project[name] !== undefined && Object.hasOwn(this.project, name)) return this.project[name];
    for (const pom of this.chain) if (Object.hasOwn(pom.properties, name)) return pom.properties[name];
    return undefined;
  }
  private resolve(name: string, depth: number): string | undefined {
    if (this.memo.has(name)) return this.memo.get(name);
    const raw = this.lookup(name);
    if (raw === undefined) return undefined;
    this.memo.set(name, undefined); // while in progress: a cycle leaves the reference as written
    const v = depth >= MAX_DEPTH ? UNRESOLVED : this.substitute(raw, depth + 1, `\${${clip(name, 40)}}`);
    this.memo.set(name, v);
    return v;
  }
  /** `what` names the text in a warning: `${name}` for a property's value. */
  private substitute(text: string, depth: number, what: string): string {
    if (this.budget.spent) {
      this.cut = true;
      return UNRESOLVED;
    }
    this.budget.expanded += text.length;
    if (text.length > MAX_EXPANDED) {
      this.tooLong.add(what);
      return UNRESOLVED;
    }
    if (!text.includes('${')) return text;
    let size = text.length;
    let over: string | undefined;
    const out = text.replace(/\$\{([^}]+)\}/g, (m, name: string) => {
      const v = over ? undefined : this.resolve(name, depth);
      if (v === undefined) return m;
      size += v.length - m.length;
      if (size > MAX_EXPANDED) over = what.startsWith('${') ? what : `\${${clip(name, 40)}}`;
      return over ? m : v;
    });
    this.budget.expanded += out.length;
    if (!over) return out;
    this.tooLong.add(over);
    return UNRESOLVED;
  }
  expand(value: string | undefined): string | undefined {
    return value === undefined ? undefined : this.substitute(value, 0, `a ${value.length}-character value`);
  }
}

type Managed = { version?: string; scope?: string };

/**
 * A pom's dependencyManagement, indexed once however many modules inherit it: entries with
 * literal coordinates by key; those whose coordinates need expanding (which may differ per
 * module) by position, expanded per chain; BOM imports by position (a module never re-walks a
 * parent's thousands of entries to find its few imports).
 */
interface ManagementIndex {
  literal: Map<string, number>;
  templated: number[];
  imports: number[];
}
const indexes = new WeakMap<Pom, ManagementIndex>();
function indexOf(pom: Pom): ManagementIndex {
  let index = indexes.get(pom);
  if (!index) {
    const literal = new Map<string, number>();
    const templated: number[] = [];
    const imports: number[] = [];
    pom.managed.forEach((d, i) => {
      if (d.scope === 'import') imports.push(i);
      else if (`${d.groupId}${d.artifactId}`.includes('${')) templated.push(i);
      else if (!literal.has(`${d.groupId}:${d.artifactId}`)) literal.set(`${d.groupId}:${d.artifactId}`, i);
    });
    indexes.set(pom, (index = { literal, templated, imports }));
  }
  return index;
}

/**
 * The versions and scopes the chain's dependencyManagement gives, nearest pom first, then those of
 * the BOMs it imports (each BOM's management in declaration order, read once per scan).
 */
function managementOf(chain: PomChain, x: Expander, boms: Map<string, Managed>[], budget: PomBudget) {
  const templated = chain.map((pom) => {
    const m = new Map<string, number>();
    for (const i of indexOf(pom).templated) {
      if (budget.spent) break;
      budget.entries++;
      const d = pom.managed[i];
      const key = `${x.expand(d.groupId)}:${x.expand(d.artifactId)}`;
      if (!m.has(key)) m.set(key, i);
    }
    return m;
  });
  return (key: string): Managed | undefined => {
    for (let p = 0; p < chain.length; p++) {
      const a = indexOf(chain[p]).literal.get(key);
      const b = templated[p].get(key);
      const i = a === undefined ? b : b === undefined ? a : Math.min(a, b);
      if (i !== undefined) {
        const d = chain[p].managed[i];
        return { version: x.expand(d.version), scope: d.scope };
      }
    }
    for (const m of boms) {
      const hit = m.get(key);
      if (hit) return hit;
    }
    return undefined;
  };
}

export interface PomDependencies {
  pins: Array<{ name: string; version: string; dev: boolean }>;
  /** Dependencies whose version nothing offline settles. */
  unresolved: string[];
  /** Dependencies whose coordinates or version are not Maven's (an entity, markup, a crafted value). */
  invalid: string[];
  /** Properties whose expansion outgrew MAX_EXPANDED. */
  tooLong: string[];
  /** The scan's budget ran out while this pom was read: what is listed is not all it names. */
  cut: boolean;
}

export function pomDependencies(
  chain: PomChain,
  boms: Map<string, Managed>[] = [],
  budget = new PomBudget(),
): PomDependencies {
  const x = new Expander(chain, budget);
  const managed = managementOf(chain, x, boms, budget);
  const pins = new Map<string, { name: string; version: string; dev: boolean }>();
  const unresolved = new Set<string>();
  const invalid = new Set<string>();
  walk: for (const pom of chain)
    for (const d of pom.dependencies) {
      if (budget.spent) break walk;
      budget.entries++;
      const g = x.expand(d.groupId) ?? '';
      const a = x.expand(d.artifactId) ?? '';
      const name = `${g}:${a}`;
      if (pins.has(name) || d.scope === 'system') continue;
      if (![g, a].every((c) => c.length <= MAX_COORD && COORD.test(c))) {
        if (!`${g}${a}`.includes('${')) invalid.add(clip(name));
        else unresolved.add(clip(name));
        continue;
      }
      const m = managed(name);
      const version = x.expand(d.version) ?? m?.version;
      if (!version || version.includes('${') || /^[[(]|,/.test(version)) {
        unresolved.add(name);
        continue;
      }
      if (version.length > MAX_COORD || !VERSION.test(version)) {
        invalid.add(`${name} (version "${clip(version, 40)}")`);
        continue;
      }
      // A dependency without a scope takes the one dependencyManagement gives it.
      const scope = d.scope ?? m?.scope;
      pins.set(name, { name, version, dev: scope === 'test' || scope === 'provided' });
    }
  return {
    pins: [...pins.values()],
    unresolved: [...unresolved],
    invalid: [...invalid],
    tooLong: [...x.tooLong],
    cut: x.cut || budget.spent,
  };
}

/** Poms by coordinates, from local Maven repositories (in the tree, then the host's). */
export interface PomRepository {
  get(groupId?: string, artifactId?: string, version?: string): Promise<Pom | undefined>;
}

/** Largest pom read (the largest real BOMs are a few hundred kilobytes). */
export const MAX_POM = 4 * 1024 * 1024;
/** BOMs read for one scan at most (Spring Boot's imports some 40 transitively). */
const MAX_BOMS = 200;

export function pomRepository(
  fs: LayeredFileSystem,
  hostRoot = hostRepository(),
  budget?: PomBudget,
): PomRepository {
  // Every in-tree repository's poms indexed once by their path inside it (the roots in the order
  // met): a lookup is one map read, however many `.m2/repository` folders a crafted tree holds
  // (5,000 of them, each tried for each of 5,000 parents, took past 90 s).
  const inTree = new Map<string, string[]>();
  for (const [path] of fs.analysed()) {
    const m = /^(?:.*?(?:^|\/))?\.m2\/repository\/(.+\.pom)$/.exec(path);
    if (!m) continue;
    const found = inTree.get(m[1]);
    if (found) found.push(path);
    else inTree.set(m[1], [path]);
  }
  const cache = new Map<string, Promise<Pom | undefined>>();
  const parse = (b: Buffer | undefined) => {
    if (!b || b.length > MAX_POM || (budget && !budget.parse(b.length))) return undefined;
    try {
      return parsePom(b.toString('utf8'));
    } catch {
      return undefined;
    }
  };
  return {
    get(g, a, v) {
      // Coordinates become a path: nothing that could climb out of the repository.
      if (
        !g ||
        !a ||
        !v ||
        ![g, a, v].every((x) => x.length <= MAX_COORD && COORD.test(x) && !x.includes('..'))
      )
        return Promise.resolve(undefined);
      const rel = `${g.replace(/\./g, '/')}/${a}/${v}/${a}-${v}.pom`;
      let p = cache.get(rel);
      if (!p) {
        p = (async () => {
          for (const path of inTree.get(rel) ?? []) {
            const pom = parse(await fs.readFile(path));
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
 * What one scan shares between its poms: in-tree poms parsed once (a parent of ten thousand
 * modules too), each BOM's management built once, one budget.
 */
export class PomScan {
  private readonly parsed = new Map<string, Promise<Pom | Error | undefined>>();
  private readonly boms = new Map<string, Promise<Bom | undefined>>();
  /** Merged BOM management by import list (see imports). */
  private readonly merged = new Map<string, Map<string, Managed>>();
  constructor(
    readonly repo: PomRepository,
    private readonly fs?: LayeredFileSystem,
    readonly budget = new PomBudget(),
  ) {}

  /** The pom at an in-tree path, parsed once per scan (undefined: absent, too large, unreadable or over the budget). */
  async treePom(path: string): Promise<Pom | undefined> {
    const r = await this.read(path);
    return r instanceof Error ? undefined : r;
  }

  /** As treePom, with why a pom is not read: an Error for one that is not a pom. */
  read(path: string): Promise<Pom | Error | undefined> {
    let p = this.parsed.get(path);
    if (!p) {
      p = (async () => {
        const content = await this.fs?.readFile(path);
        if (!content || content.length > MAX_POM || !this.budget.parse(content.length)) return undefined;
        try {
          return parsePom(content.toString('utf8'));
        } catch (err) {
          return err as Error;
        }
      })();
      this.parsed.set(path, p);
    }
    return p;
  }

  /**
   * A pom and its parents: through `relativePath` in the tree while they are there (`path`: where
   * the pom was read), else from the repository by their coordinates. A parent met again (a pom
   * naming itself, two naming each other) ends the chain: `cycle` names it.
   */
  async chain(first: Pom, path?: string): Promise<{ chain: PomChain; cycle?: string }> {
    const chain: PomChain = [first];
    const self = new Expander(chain, this.budget);
    const met = new Set<string>([
      path ??
        [first.groupId ?? first.parent?.groupId, first.artifactId, first.version ?? first.parent?.version]
          .map((v) => self.expand(v))
          .join(':'),
    ]);
    let dir: string | undefined = path !== undefined ? posix.dirname(path) : undefined;
    for (let pom = first; pom.parent && chain.length < 10;) {
      let parent: Pom | undefined;
      let id: string | undefined;
      if (dir !== undefined) {
        let rel = pom.parent.relativePath ?? '../pom.xml';
        if (!rel.endsWith('.xml')) rel = posix.join(rel, 'pom.xml');
        const parentPath = posix.normalize(posix.join(dir, rel));
        parent = parentPath.startsWith('..') ? undefined : await this.treePom(parentPath);
        // relativePath is only a hint: the pom found there must be the parent named.
        if (parent && parent.artifactId === pom.parent.artifactId) {
          dir = posix.dirname(parentPath);
          id = parentPath;
        } else parent = undefined;
      }
      if (!parent) {
        // Not in the tree: the repository's, by its coordinates (and its own parents from there on).
        const x = new Expander(chain, this.budget);
        const gav = [pom.parent.groupId, pom.parent.artifactId, pom.parent.version].map((v) => x.expand(v));
        parent = await this.repo.get(gav[0], gav[1], gav[2]);
        dir = undefined;
        id = gav.join(':');
      }
      if (!parent) break;
      if (met.has(id!)) return { chain, cycle: clip(`${pom.parent.groupId}:${pom.parent.artifactId}`) };
      met.add(id!);
      chain.push(parent);
      pom = parent;
    }
    return { chain };
  }

  /**
   * What the BOMs a chain imports (`scope import`) manage, transitively, each BOM once, in
   * declaration order: merged into one map per import list, so a dependency is looked up once,
   * not once per BOM (two hundred BOMs times two million entries), and modules sharing a parent
   * share the merge. Each merge is charged to the budget.
   */
  async imports(chain: PomChain): Promise<Map<string, Managed>[]> {
    const ids = importIds(chain, this.budget);
    if (!ids.length) return [];
    const key = ids.join('\n');
    const known = this.merged.get(key);
    if (known) return [known];
    const maps: Map<string, Managed>[] = [];
    const seen = new Set<string>();
    const visit = async (ids: string[]) => {
      for (const id of ids) {
        if (seen.has(id)) continue;
        seen.add(id);
        const bom = await this.bom(id);
        if (!bom) continue;
        maps.push(bom.managed);
        await visit(bom.imports);
      }
    };
    await visit(ids);
    let out = maps[0] ?? new Map<string, Managed>();
    if (maps.length > 1) {
      out = new Map();
      merge: for (const m of maps)
        for (const [k, v] of m) {
          if (this.budget.spent) break merge;
          this.budget.entries++;
          if (!out.has(k)) out.set(k, v);
        }
    }
    // A few lists at once (a tree's parents); more are merged again, at the budget's expense.
    if (this.merged.size >= 16) this.merged.delete(this.merged.keys().next().value!);
    this.merged.set(key, out);
    return [out];
  }

  private bom(id: string): Promise<Bom | undefined> {
    let p = this.boms.get(id);
    if (!p) {
      if (this.boms.size >= MAX_BOMS) return Promise.resolve(undefined);
      p = (async () => {
        const [g, a, v] = id.split(':');
        const pom = await this.repo.get(g, a, v);
        if (!pom) return undefined;
        const { chain } = await this.chain(pom);
        const x = new Expander(chain, this.budget);
        const managed = new Map<string, Managed>();
        walk: for (const b of chain)
          for (const m of b.managed) {
            if (m.scope === 'import') continue;
            // Two hundred BOMs sharing a parent of 45,000 entries walk it two hundred times.
            if (this.budget.spent) break walk;
            this.budget.entries++;
            const key = `${x.expand(m.groupId)}:${x.expand(m.artifactId)}`;
            if (!managed.has(key)) managed.set(key, { version: x.expand(m.version), scope: m.scope });
          }
        return { managed, imports: importIds(chain, this.budget) };
      })();
      this.boms.set(id, p);
    }
    return p;
  }
}

interface Bom {
  /** What the BOM (and its parents) manage, first entry of a key winning. */
  managed: Map<string, Managed>;
  /** The BOMs it imports in turn. */
  imports: string[];
}

function importIds(chain: PomChain, budget: PomBudget): string[] {
  const x = new Expander(chain, budget);
  return chain.flatMap((pom) =>
    indexOf(pom).imports.map((i) => {
      const d = pom.managed[i];
      return [d.groupId, d.artifactId, d.version].map((v) => x.expand(v)).join(':');
    }),
  );
}

/** The dependencyManagement the chain's BOM imports (`scope import`) bring, in declaration order. */
export async function importedManagement(
  chain: PomChain,
  repo: PomRepository,
): Promise<Map<string, Managed>> {
  const out = new Map<string, Managed>();
  for (const m of await new PomScan(repo).imports(chain))
    for (const [k, v] of m) if (!out.has(k)) out.set(k, v);
  return out;
}

export const pomCataloger: Cataloger = {
  name: 'pom-xml',
  // Every pom.xml is wanted: a parent is read through the file system, which keeps wanted files only.
  // So are the poms of a local Maven repository in the tree (parents and BOMs by coordinates).
  wants: (p) => /(^|\/)pom\.xml$/.test(p) || /(^|\/)\.m2\/repository\/.+\.pom$/.test(p),
  async catalog(ctx: CatalogContext): Promise<Package[]> {
    const out: Package[] = [];
    let scan: PomScan | undefined;
    const left: string[] = [];
    for (const [path, entry] of ctx.fs.analysed()) {
      if (entry.content === undefined || !/(^|\/)pom\.xml$/.test(path)) continue;
      if (!scan) {
        const budget = new PomBudget();
        scan = new PomScan(pomRepository(ctx.fs, undefined, budget), ctx.fs, budget);
      }
      if (scan.budget.spent) {
        left.push(path);
        continue;
      }
      const content = await ctx.fs.readFile(path);
      if (!content) continue;
      if (content.length > MAX_POM) {
        ctx.warnings.push(
          `/${path}: ${content.length} bytes is more than a pom.xml holds (${MAX_POM}); skipped`,
        );
        continue;
      }
      const pom = await scan.read(path);
      if (pom instanceof Error) {
        ctx.warnings.push(`/${path}: not a readable pom.xml (${clip(pom.message, 200)}); skipped`);
        continue;
      }
      if (!pom) {
        if (scan.budget.spent) left.push(path);
        continue;
      }
      const { chain, cycle } = await scan.chain(pom, path);
      if (cycle)
        ctx.warnings.push(
          `/${path}: the parent ${cycle} is the pom itself or its own descendant (a cycle); not followed again`,
        );
      const r = pomDependencies(chain, await scan.imports(chain), scan.budget);
      if (r.cut) left.push(path);
      if (r.tooLong.length)
        ctx.warnings.push(
          `/${path}: ${listed(r.tooLong)} expands past ${MAX_EXPANDED} bytes (a crafted pom?); treated as unresolved`,
        );
      if (r.unresolved.length)
        ctx.warnings.push(
          `/${path}: no version for ${listed(r.unresolved)} in the tree or a local Maven repository (a remote parent or BOM?); left out`,
        );
      if (r.invalid.length)
        ctx.warnings.push(
          `/${path}: not Maven coordinates or versions (an XML entity, markup or a crafted value): ${listed(r.invalid)}; left out`,
        );
      const layer = ctx.fs.stat(path)?.layer;
      for (const p of r.pins) {
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
    if (left.length)
      ctx.warnings.push(
        `the poms of this tree expand, inherit or weigh more than a scan allows (${scan!.budget.describe()}; a crafted tree?): /${clip(left[0])} and ${left.length - 1} more pom.xml left out or cut short`,
      );
    return out;
  },
};
