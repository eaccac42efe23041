import type { FileEntry, LayerContent, LayerInfo } from './model.js';
import { cleanImagePath, parentOf } from './paths.js';

interface Node {
  entry: FileEntry;
  layer: number;
  children?: Map<string, Node>;
}

export interface FoundFile {
  /** The real path after following symlinks. */
  path: string;
  entry: FileEntry;
  layer: LayerInfo;
}

/** One copy of a file in one layer, newest first; used to tell which layer brought something in. */
export interface FileVersion {
  layer: LayerInfo;
  read(): Promise<Buffer | undefined>;
}

const MAX_LINK_HOPS = 40;

/**
 * The image's final filesystem: layers applied bottom-up with whiteouts, opaque directories,
 * hard links and symlinks (resolved inside the image root only; `..` stops at `/`).
 */
export class LayeredFileSystem {
  private readonly root: Node = {
    entry: { type: 'dir', size: 0, mode: 0o755 },
    layer: 0,
    children: new Map(),
  };

  constructor(readonly layers: LayerContent[]) {
    layers.forEach((layer, i) => this.apply(layer, i));
  }

  private apply(layer: LayerContent, index: number): void {
    for (const dir of layer.opaqueDirs) {
      const n = this.node(dir);
      if (n?.children) n.children.clear();
    }
    for (const path of layer.whiteouts) {
      const parent = this.node(parentOf(path));
      parent?.children?.delete(path.slice(path.lastIndexOf('/') + 1));
    }
    for (const [path, entry] of layer.files) {
      const parent = this.ensureDir(parentOf(path), index);
      const name = path.slice(path.lastIndexOf('/') + 1);
      const existing = parent.children!.get(name);
      if (entry.type === 'dir') {
        if (existing?.entry.type === 'dir') {
          existing.entry = entry;
          existing.layer = index;
        } else parent.children!.set(name, { entry, layer: index, children: new Map() });
      } else {
        parent.children!.set(name, { entry, layer: index });
      }
    }
  }

  /** The node at a path, without following symlinks. */
  private node(path: string): Node | undefined {
    let n: Node | undefined = this.root;
    if (path === '') return n;
    for (const seg of path.split('/')) {
      n = n?.children?.get(seg);
      if (!n) return undefined;
    }
    return n;
  }

  private ensureDir(path: string, layer: number): Node {
    let n = this.root;
    if (path === '') return n;
    for (const seg of path.split('/')) {
      let c = n.children!.get(seg);
      if (!c || !c.children) {
        c = { entry: { type: 'dir', size: 0, mode: 0o755 }, layer, children: new Map() };
        n.children!.set(seg, c);
      }
      n = c;
    }
    return n;
  }

  /** Resolve a path inside the image, following symlinks (and hard links) in every component. */
  resolve(path: string, hopsSoFar = 0): { path: string; node: Node } | undefined {
    let pending = cleanImagePath(path).split('/').filter(Boolean);
    // Counted across hard-link recursion too, so h1 → h2 → h1 ends instead of overflowing the stack.
    let hops = hopsSoFar;
    const done: string[] = [];
    let n: Node = this.root;
    while (pending.length) {
      const seg = pending.shift()!;
      const c = n.children?.get(seg);
      if (!c) return undefined;
      if (c.entry.type === 'symlink') {
        if (++hops > MAX_LINK_HOPS) return undefined;
        const target = c.entry.linkname ?? '';
        const base = target.startsWith('/') ? '' : done.join('/');
        const rest = cleanImagePath(`${base}/${target}`).split('/').filter(Boolean);
        pending = [...rest, ...pending];
        done.length = 0;
        n = this.root;
        continue;
      }
      done.push(seg);
      n = c;
    }
    if (n.entry.type === 'hardlink' && !n.entry.content && n.entry.linkname) {
      if (++hops > MAX_LINK_HOPS) return undefined;
      const t = this.resolve(n.entry.linkname, hops);
      if (t) return { path: done.join('/'), node: { ...t.node, layer: n.layer } };
    }
    return { path: done.join('/'), node: n };
  }

  stat(path: string): FoundFile | undefined {
    const r = this.resolve(path);
    if (!r) return undefined;
    return { path: r.path, entry: r.node.entry, layer: this.layers[r.node.layer]?.info ?? { index: 0 } };
  }

  exists(path: string): boolean {
    return this.resolve(path) !== undefined;
  }

  /** Content of a regular file that an analyser asked for; undefined when absent or not kept. */
  async readFile(path: string): Promise<Buffer | undefined> {
    const r = this.resolve(path);
    if (!r || (r.node.entry.type !== 'file' && r.node.entry.type !== 'hardlink')) return undefined;
    return load(r.node.entry);
  }

  /** Names in a directory (symlinks followed for the directory itself). */
  list(dir: string): string[] {
    const r = this.resolve(dir);
    return r?.node.children ? [...r.node.children.keys()].sort() : [];
  }

  private everything?: Array<[string, FileEntry, number]>;

  /** Every path in the final view with its entry, depth-first; symlinks are not followed. */
  *walk(from = ''): Generator<[string, FileEntry, number]> {
    // Every cataloger walks the whole tree: the paths are made once (the view never changes).
    if (from === '') {
      this.everything ??= [...this.walkFrom('')];
      yield* this.everything;
      return;
    }
    yield* this.walkFrom(from);
  }

  private analysedOnes?: Array<[string, FileEntry, number]>;

  /**
   * The regular files of the final view that the layer reads kept (content) or probed: the only
   * ones an analyser can learn from. A few thousand of an image's tens of thousands of paths, so
   * each cataloger passes over these instead of the whole tree.
   */
  *analysed(): Generator<[string, FileEntry, number]> {
    this.analysedOnes ??= [...this.walk()].filter(
      ([, e]) => e.type === 'file' && (e.content !== undefined || e.probes !== undefined),
    );
    yield* this.analysedOnes;
  }

  private *walkFrom(from: string): Generator<[string, FileEntry, number]> {
    const start = this.node(cleanImagePath(from));
    if (!start) return;
    const stack: Array<[string, Node]> = [[cleanImagePath(from), start]];
    while (stack.length) {
      const [p, n] = stack.pop()!;
      if (p !== '') yield [p, n.entry, n.layer];
      if (n.children) for (const [name, c] of n.children) stack.push([p ? `${p}/${name}` : name, c]);
    }
  }

  /**
   * The copies of a (real) path in each layer, newest first, stopping where a layer deleted it:
   * the oldest copy in the chain that still has a thing is the layer that brought it in.
   */
  versions(path: string): FileVersion[] {
    const out: FileVersion[] = [];
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i];
      const e = layer.files.get(path);
      if (e && (e.type === 'file' || e.type === 'hardlink')) {
        out.push({ layer: layer.info, read: () => load(e) });
      }
      if (deletes(layer, path)) break;
    }
    return out;
  }
}

function deletes(layer: LayerContent, path: string): boolean {
  for (let p = path; ; p = parentOf(p)) {
    if (layer.whiteouts.has(p)) return true;
    if (p !== path && layer.opaqueDirs.has(p)) return true;
    if (p === '') return layer.opaqueDirs.has('') && path !== '';
  }
}

async function load(entry: FileEntry): Promise<Buffer | undefined> {
  if (!entry.content) return undefined;
  return typeof entry.content === 'function' ? entry.content() : entry.content;
}
