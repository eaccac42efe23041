import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (tests run from dist/test/...). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** Real data shared beside the project; never copied into it. */
export const SHARED = resolve(ROOT, '../shared/data');
export const CLI = join(ROOT, 'dist/src/cli/main.js');
/** A git-ignored cache for test inputs that are slow to make (debootstrap, buildah images). */
export const CACHE = join(ROOT, '.cache/test');

export function shared(...parts: string[]): string {
  return join(SHARED, ...parts);
}

export function cacheDir(...parts: string[]): string {
  const d = join(CACHE, ...parts);
  if (!existsSync(d)) mkdirSync(d, { recursive: true });
  return d;
}
