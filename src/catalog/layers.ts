import { CustomsError } from '../errors.js';
import type { LayeredFileSystem } from '../image/filesystem.js';
import type { LayerInfo } from '../image/model.js';

/**
 * Parse a package database and tell, for each entry of its final copy, which layer brought it
 * in: the oldest layer in the unbroken chain of copies (newest first) that still lists the same
 * entry. A layer that rewrites the database without touching an entry does not claim it.
 */
export async function withLayers<T>(
  fs: LayeredFileSystem,
  path: string,
  parse: (content: Buffer) => T[] | Promise<T[]>,
  key: (item: T) => string,
): Promise<Array<{ item: T; layer: LayerInfo }>> {
  const real = fs.stat(path)?.path ?? path;
  const versions = fs.versions(real);
  const top = await fs.readFile(path);
  if (!top) return [];
  let items: T[];
  try {
    items = await parse(top);
  } catch (err) {
    // Name the database file: "corrupt rpm header" alone does not say where.
    if (err instanceof CustomsError && !err.message.startsWith(`/${real}`))
      throw new CustomsError(`/${real}: ${err.message}`, err.input, { cause: err });
    throw err;
  }
  const layers = new Map<string, LayerInfo>();
  const fallback = fs.stat(path)?.layer ?? { index: 0 };
  for (const it of items) layers.set(key(it), versions[0]?.layer ?? fallback);
  let open = new Set(layers.keys());
  for (let i = 1; i < versions.length && open.size; i++) {
    const content = await versions[i].read();
    if (!content) break;
    let older: Set<string>;
    try {
      older = new Set((await parse(content)).map(key));
    } catch {
      break;
    }
    const still = new Set<string>();
    for (const k of open) {
      if (older.has(k)) {
        layers.set(k, versions[i].layer);
        still.add(k);
      }
    }
    open = still;
  }
  return items.map((item) => ({ item, layer: layers.get(key(item))! }));
}
