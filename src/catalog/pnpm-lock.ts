import YAML from 'yaml';
import { lockfileCataloger, type Pinned } from './files.js';
import { npmPurl } from './npm.js';

/**
 * pnpm-lock.yaml, lockfile versions 5 (`/name/1.0.0`), 6 (`/name@1.0.0(peer@2)`) and 9 (`name@1.0.0`
 * in `packages`, the dependency graph in `snapshots`). Peer suffixes are not part of the version;
 * tarball and `file:` entries carry their own `name`/`version`. Version 5/6 entries say `dev`; for
 * version 9 a package is dev when only the importers' devDependencies reach it.
 */

interface Entry {
  name?: string;
  version?: string;
  dev?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}
type Deps = Record<string, string | { version?: string }>;
interface Importer {
  dependencies?: Deps;
  optionalDependencies?: Deps;
  devDependencies?: Deps;
}
interface Lock {
  lockfileVersion?: string | number;
  packages?: Record<string, Entry | null>;
  snapshots?: Record<string, Entry | null>;
  importers?: Record<string, Importer>;
  dependencies?: Deps;
  optionalDependencies?: Deps;
  devDependencies?: Deps;
}

const stripPeers = (v: string) => v.replace(/\(.*$/, '').replace(/_.*$/, '');
const isVersion = (v: string) => /^\d+\.\d+\.\d+[\w.+-]*$/.test(v);

/** `@scope/name@1.0.0(peer)` → name and the rest (v9 keys and v6 keys without the slash). */
function splitAt(key: string): { name: string; rest: string } | undefined {
  const at = key.indexOf('@', 1);
  return at > 0 ? { name: key.slice(0, at), rest: key.slice(at + 1) } : undefined;
}

/** A v5/v6 key: `/name/1.0.0`, `/@scope/name/1.0.0_peer`, `/name@1.0.0(peer)`. */
function splitOld(key: string): { name: string; version: string } | undefined {
  if (!key.startsWith('/')) return undefined;
  const k = key.slice(1);
  const v6 = splitAt(k);
  if (v6 && !v6.name.includes('/') === !k.startsWith('@')) {
    const version = stripPeers(v6.rest);
    if (isVersion(version)) return { name: v6.name, version };
  }
  const parts = k.split('/');
  const version = stripPeers(parts.pop() ?? '');
  return isVersion(version) ? { name: parts.join('/'), version } : undefined;
}

function docOf(text: string): Lock {
  // pnpm 10 may write its own tool dependencies as a first YAML document; the project's is last.
  const docs = YAML.parseAllDocuments(text);
  const last = docs[docs.length - 1];
  if (!last) return {};
  if (last.errors.length) throw new Error(last.errors[0].message);
  return (last.toJS() ?? {}) as Lock;
}

export function parsePnpmLock(text: string): Pinned[] {
  const doc = docOf(text);
  const major = Number(String(doc.lockfileVersion ?? '5').split('.')[0]);
  const out = new Map<string, Pinned>();
  const add = (name: string, version: string, dev: boolean) => {
    const k = `${name}@${version}`;
    const prev = out.get(k);
    // The same version reached both ways (different peers) is needed in production.
    out.set(k, { name, version, dev: prev ? prev.dev && dev : dev });
  };
  if (major < 9) {
    for (const [key, e] of Object.entries(doc.packages ?? {})) {
      const parsed = splitOld(key);
      const name = e?.name ?? parsed?.name;
      const version = e?.version ?? parsed?.version;
      if (name && version && isVersion(version)) add(name, version, e?.dev === true);
    }
    return [...out.values()];
  }
  const snapshots = doc.snapshots ?? doc.packages ?? {};
  const info = (key: string) => {
    const s = splitAt(key);
    if (!s) return undefined;
    const base = `${s.name}@${stripPeers(s.rest)}`;
    const version = isVersion(stripPeers(s.rest))
      ? stripPeers(s.rest)
      : (doc.packages?.[base]?.version ?? doc.packages?.[key]?.version);
    return version && isVersion(version) ? { name: s.name, version } : undefined;
  };
  const ver = (d: string | { version?: string }) => (typeof d === 'string' ? d : (d.version ?? ''));
  const reach = (start: string[]) => {
    const seen = new Set<string>();
    const todo = [...start];
    while (todo.length) {
      const k = todo.pop()!;
      if (seen.has(k) || !(k in snapshots)) continue;
      seen.add(k);
      const e = snapshots[k] ?? {};
      for (const [n, v] of Object.entries({ ...e.dependencies, ...e.optionalDependencies }))
        todo.push(`${n}@${v}`);
    }
    return seen;
  };
  const importers = Object.values(doc.importers ?? { '.': doc });
  const roots = (pick: (i: Importer) => Deps | undefined) =>
    importers.flatMap((i) => Object.entries(pick(i) ?? {}).map(([n, d]) => `${n}@${ver(d)}`));
  const prod = reach([...roots((i) => i.dependencies), ...roots((i) => i.optionalDependencies)]);
  const dev = reach(roots((i) => i.devDependencies));
  for (const key of Object.keys(snapshots)) {
    const i = info(key);
    if (i) add(i.name, i.version, dev.has(key) && !prod.has(key));
  }
  return [...out.values()];
}

export const pnpmLockCataloger = lockfileCataloger({
  name: 'pnpm-lock',
  type: 'npm',
  wants: (p) => /(^|\/)pnpm-lock\.yaml$/.test(p),
  parse: (content) => parsePnpmLock(content.toString('utf8')),
  purl: npmPurl,
});
