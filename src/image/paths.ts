import { CustomsError } from '../errors.js';

/** A `.` or `..` segment, or an empty one. */
const UNUSUAL = /(?:^|\/)\.{1,2}(?:\/|$)|\/\/|^\/|\/$/;

/**
 * Normalise a path from a tar entry: no leading `./`, no `.` segments, `..` folded.
 * Absolute paths and paths that climb above the root are hostile: layers written by
 * image builders never contain them, and honouring them is how extraction escapes.
 */
export function normalizeEntryPath(name: string): string {
  if (name.startsWith('/')) throw new CustomsError(`hostile tar entry "${name}": absolute path`);
  // Most names need nothing but their `./` and trailing `/` dropped (one test; this runs per entry).
  let s = name.startsWith('./') ? name.slice(2) : name;
  if (s.endsWith('/')) s = s.slice(0, -1);
  if (!UNUSUAL.test(s)) return s;
  const out: string[] = [];
  for (const seg of name.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0)
        throw new CustomsError(`hostile tar entry "${name}": path escapes the image root`);
      out.pop();
      continue;
    }
    out.push(seg);
  }
  return out.join('/');
}

/** Normalise a path inside the image (for lookups): absolute or relative, `..` clamped at the root. */
export function cleanImagePath(path: string): string {
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return out.join('/');
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
