import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LayeredFileSystem } from '../../src/image/filesystem.js';
import type { FileEntry, LayerContent } from '../../src/image/model.js';

/** A one-layer filesystem from path → content pairs. */
export function fsFromFiles(files: Record<string, string | Buffer>): LayeredFileSystem {
  const map = new Map<string, FileEntry>();
  for (const [path, content] of Object.entries(files)) {
    const buf = typeof content === 'string' ? Buffer.from(content) : content;
    map.set(path.replace(/^\//, ''), { type: 'file', size: buf.length, mode: 0o644, content: buf });
  }
  const layer: LayerContent = {
    info: { index: 0, diffId: 'sha256:test' },
    files: map,
    whiteouts: new Set(),
    opaqueDirs: new Set(),
  };
  return new LayeredFileSystem([layer]);
}

/** Every file under a folder as path → content (relative paths). */
export function readTree(dir: string, prefix = ''): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(p).isDirectory()) Object.assign(out, readTree(p, rel));
    else out[rel] = readFileSync(p);
  }
  return out;
}

/** txtar archives (as in Go test data): `-- path --` headers, each followed by the file's text. */
export function parseTxtar(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const parts = text.split(/^-- (.+?) --$/m);
  for (let i = 1; i + 1 < parts.length; i += 2) out[parts[i].trim()] = parts[i + 1].replace(/^\n/, '');
  return out;
}
