import { lockfileCataloger, type Pinned } from './files.js';
import { npmPurl } from './npm.js';

/**
 * bun.lock (text lockfile, lockfileVersion 1): JSON with trailing commas. `packages` maps a key to
 * `[ "name@version", registry, {dependencies…}, integrity ]`; workspace and link entries are the
 * project's own folders, not dependencies. A package reachable only from the workspaces'
 * devDependencies is dev.
 */

interface BunLock {
  lockfileVersion?: unknown;
  workspaces?: Record<string, Record<string, Record<string, string> | string | undefined>>;
  packages?: Record<string, unknown[]>;
}

/** Written by hand: bun.lock is JSON plus trailing commas, and nothing small parses just that. */
function parseJsonWithTrailingCommas(text: string): unknown {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    if (ch === ',') {
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j])) j++;
      if (text[j] === '}' || text[j] === ']') continue;
    }
    out += ch;
  }
  return JSON.parse(out);
}

export function parseBunLock(text: string): Pinned[] {
  const doc = parseJsonWithTrailingCommas(text) as BunLock;
  if (typeof doc.lockfileVersion !== 'number') throw new Error('lockfileVersion is not a number');
  const entries = new Map<string, { name: string; version: string; deps: string[] }>();
  for (const [key, v] of Object.entries(doc.packages ?? {})) {
    const spec = typeof v?.[0] === 'string' ? v[0] : '';
    const at = spec.lastIndexOf('@');
    if (at <= 0) continue;
    const name = spec.slice(0, at);
    const version = spec.slice(at + 1);
    if (!/^\d+\.\d+\.\d+/.test(version)) continue; // workspace:, link:, file:, git…
    const meta = (v.find((x, i) => i > 0 && x && typeof x === 'object') ?? {}) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    entries.set(key, {
      name,
      version,
      deps: Object.keys({ ...meta.dependencies, ...meta.optionalDependencies }),
    });
  }
  const reach = (roots: string[]) => {
    const seen = new Set<string>();
    const todo = [...roots];
    while (todo.length) {
      const k = todo.pop()!;
      if (seen.has(k) || !entries.has(k)) continue;
      seen.add(k);
      // Nested keys (`parent/child`) shadow the top-level one for that parent's dependencies.
      for (const d of entries.get(k)!.deps) todo.push(entries.has(`${k}/${d}`) ? `${k}/${d}` : d);
    }
    return seen;
  };
  const ws = Object.values(doc.workspaces ?? {});
  const names = (field: string) =>
    ws.flatMap((w) => Object.keys((w[field] as Record<string, string> | undefined) ?? {}));
  const prod = reach([
    ...names('dependencies'),
    ...names('optionalDependencies'),
    ...names('peerDependencies'),
  ]);
  const dev = reach(names('devDependencies'));
  return [...entries.entries()].map(([k, e]) => ({
    name: e.name,
    version: e.version,
    dev: dev.has(k) && !prod.has(k),
  }));
}

export const bunLockCataloger = lockfileCataloger({
  name: 'bun-lock',
  type: 'npm',
  wants: (p) => /(^|\/)bun\.lock$/.test(p),
  parse: (content) => parseBunLock(content.toString('utf8')),
  purl: npmPurl,
});
