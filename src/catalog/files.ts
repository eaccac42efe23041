import type { LayeredFileSystem } from '../image/filesystem.js';
import type { CatalogContext, Cataloger, Package } from './model.js';

/** Every regular file of the final view that a cataloger wants, with its content (files kept in memory). */
export async function* wantedFiles(
  fs: LayeredFileSystem,
  wants: (path: string) => boolean,
): AsyncGenerator<{ path: string; content: Buffer }> {
  for (const [path, entry] of fs.walk()) {
    if (entry.type !== 'file' || !wants(path)) continue;
    const content = await fs.readFile(path);
    if (content) yield { path, content };
  }
}

/** A dependency a lockfile pins. */
export interface Pinned {
  name: string;
  version: string;
  dev?: boolean;
}

/**
 * A cataloger for one kind of lockfile: files matching `wants` are parsed, and every pinned
 * dependency with a version becomes a package; a file that does not parse is a warning.
 */
export function lockfileCataloger(spec: {
  name: string;
  type: string;
  wants: (path: string) => boolean;
  parse: (content: Buffer, path: string) => Pinned[];
  purl: (name: string, version: string) => string;
}): Cataloger {
  return {
    name: spec.name,
    wants: spec.wants,
    async catalog(ctx: CatalogContext): Promise<Package[]> {
      const out: Package[] = [];
      for await (const { path, content } of wantedFiles(ctx.fs, spec.wants)) {
        let pins: Pinned[];
        try {
          pins = spec.parse(content, path);
        } catch (err) {
          ctx.warnings.push(
            `/${path}: not a readable ${spec.name} file (${(err as Error).message}); skipped`,
          );
          continue;
        }
        for (const p of pins) {
          if (!p.version) continue; // workspace folders: the project itself, not a dependency
          out.push({
            name: p.name,
            version: p.version,
            type: spec.type,
            licenses: [],
            purl: spec.purl(p.name, p.version),
            foundBy: spec.name,
            locations: [{ path: `/${path}` }],
            description: p.dev ? 'development dependency' : undefined,
          });
        }
      }
      return out;
    },
  };
}
