import { CustomsError } from '../errors.js';
import type { LayeredFileSystem } from '../image/filesystem.js';
import type { LayerInfo } from '../image/model.js';
import type { ProbeFactory } from '../image/probe.js';
import { firstOf, MAX_PACKAGES_PER_FILE, MAX_PACKAGES_PER_SCAN } from './bounds.js';
import { withLayers } from './layers.js';
import type { CatalogContext, Cataloger, Package } from './model.js';

/** Every regular file of the final view that a cataloger wants, with its content (files kept in memory). */
export async function* wantedFiles(
  fs: LayeredFileSystem,
  wants: (path: string) => boolean,
): AsyncGenerator<{ path: string; content: Buffer }> {
  for (const [path, entry] of fs.analysed()) {
    if (entry.content === undefined || !wants(path)) continue;
    const content = await fs.readFile(path);
    if (content) yield { path, content };
  }
}

/** A dependency a lockfile pins. */
export interface Pinned {
  name: string;
  version: string;
  dev?: boolean;
  licenses?: string[];
  /** Where the file itself says more than a name can (a PEAR channel): this package's purl. */
  purl?: string;
}

/**
 * A cataloger for one kind of lockfile or package list: files matching `wants` are parsed, and
 * every pinned dependency with a version becomes a package, tied to the layer that brought it in;
 * a file that does not parse is a warning.
 */
export function lockfileCataloger(spec: {
  name: string;
  type: string;
  wants: (path: string) => boolean;
  /** A promise for JSON files streamed past their size (json-keep.ts). */
  parse: (content: Buffer, path: string) => Pinned[] | Promise<Pinned[]>;
  purl: (name: string, version: string) => string;
  /** A wanted file to pass over after all, knowing the rest of the tree. */
  skip?: (path: string, fs: LayeredFileSystem) => boolean;
  /** Largest file the format holds: a larger one is named in a warning without being read. */
  maxBytes?: number;
}): Cataloger {
  return {
    name: spec.name,
    wants: spec.wants,
    async catalog(ctx: CatalogContext): Promise<Package[]> {
      const out: Package[] = [];
      // Paths only: withLayers reads each copy itself (reading here too read every file twice).
      // A file kept by no read has no content: withLayers would find nothing in it.
      for (const [path, entry] of ctx.fs.analysed()) {
        if (entry.content === undefined || !spec.wants(path) || spec.skip?.(path, ctx.fs)) continue;
        if (out.length >= MAX_PACKAGES_PER_SCAN) {
          // The scan keeps no more than this: parsing more files (each up to MAX_PACKAGES_PER_FILE)
          // only to drop their packages held them all at once (four such files: 1.15 GB RSS).
          ctx.warnings.push(
            `${spec.name}: ${out.length} packages found, as many as a scan keeps; /${path} and the rest not read`,
          );
          break;
        }
        if (spec.maxBytes !== undefined && entry.size > spec.maxBytes) {
          // Not read from disk only to be refused (a 500 MB registry entry cost 600 MB resident).
          ctx.warnings.push(
            `/${path}: not a readable ${spec.name} file (${entry.size} bytes is more than one holds, ${spec.maxBytes}); skipped`,
          );
          continue;
        }
        let pins: Array<{ item: Pinned; layer: Package['layer'] }>;
        try {
          pins = await withLayers(
            ctx.fs,
            path,
            (c) => spec.parse(c, path),
            (p) => `${p.name}@${p.version}`,
          );
        } catch (err) {
          // withLayers names the file in a CustomsError already; this warning names it first.
          const msg = (err as Error).message;
          const why = err instanceof CustomsError ? msg.replace(/^\/[^\n]*?: /, '') : msg;
          ctx.warnings.push(`/${path}: not a readable ${spec.name} file (${why}); skipped`);
          continue;
        }
        for (const { item: p, layer } of firstOf(pins, MAX_PACKAGES_PER_FILE, `/${path}`, ctx.warnings)) {
          if (!p.version) continue; // workspace folders: the project itself, not a dependency
          out.push({
            name: p.name,
            version: p.version,
            type: spec.type,
            licenses: p.licenses ?? [],
            purl: p.purl ?? spec.purl(p.name, p.version),
            foundBy: spec.name,
            locations: [{ path: `/${path}`, layer }],
            layer,
            description: p.dev ? 'development dependency' : undefined,
          });
        }
      }
      return out;
    },
  };
}

/**
 * A cataloger fed by a probe: every file the probe learned something about becomes packages. The
 * probe reads the bytes as they stream past (see image/probe.ts); this walks the final view.
 */
export function probeCataloger<T>(spec: {
  name: string;
  probe: ProbeFactory;
  /** More probes whose results `packages` reads beside the main one's (`probes`, by name). */
  also?: ProbeFactory[];
  packages: (
    found: T,
    where: { path: string; layer?: LayerInfo },
    ctx: CatalogContext,
    probes: Record<string, unknown>,
  ) => Package[];
}): Cataloger {
  return {
    name: spec.name,
    wants: () => false,
    probes: [spec.probe, ...(spec.also ?? [])],
    async catalog(ctx: CatalogContext): Promise<Package[]> {
      const out: Package[] = [];
      for (const [path, entry, layerIndex] of ctx.fs.analysed()) {
        const found = entry.probes?.[spec.probe.name] as T | undefined;
        if (found === undefined) continue;
        out.push(
          ...spec.packages(
            found,
            { path: `/${path}`, layer: ctx.fs.layers[layerIndex]?.info },
            ctx,
            entry.probes!,
          ),
        );
      }
      return out;
    },
  };
}
