import type { LayeredFileSystem } from '../image/filesystem.js';

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
