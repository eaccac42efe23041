import YAML from 'yaml';
import { lockfileCataloger } from './files.js';
import { npmPurl } from './npm.js';

/**
 * yarn.lock, classic (v1, yarn's own format) and berry (v2+, YAML): one package per resolved
 * name and version from the npm registry; local, workspace, git and unknown protocols are left out
 * (they name no published version advisories could speak of).
 */
export interface YarnPackage {
  name: string;
  version: string;
}

/** `@scope/name@range` → @scope/name and range (the @ of a scope is not the separator). */
function splitSpec(spec: string): { name: string; range: string } | undefined {
  const s = spec.trim().replace(/^"|"$/g, '');
  const at = s.indexOf('@', 1);
  return at > 0 ? { name: s.slice(0, at), range: s.slice(at + 1) } : undefined;
}

/** A range yarn resolves from the npm registry: plain semver ranges, `npm:` ones. */
function fromRegistry(range: string): boolean {
  if (range.startsWith('npm:')) return true;
  return !/^[a-z+-]+:/i.test(range) && !range.includes('/');
}

export function parseYarnLock(text: string): YarnPackage[] {
  const found = new Map<string, YarnPackage>();
  const add = (name: string, version: string) => found.set(`${name}@${version}`, { name, version });
  if (/^__metadata:/m.test(text)) {
    // Hand-merged berry lockfiles can repeat a key; yarn itself keeps the last one.
    const doc = YAML.parse(text, { uniqueKeys: false }) as Record<
      string,
      { version?: string | number; resolution?: string }
    >;
    for (const [key, e] of Object.entries(doc)) {
      if (key === '__metadata' || !e || typeof e !== 'object' || e.version === undefined) continue;
      const specs = key
        .split(',')
        .map(splitSpec)
        .filter((x): x is { name: string; range: string } => !!x);
      const res = e.resolution ? splitSpec(e.resolution) : undefined;
      if (!specs.length || (res && !res.range.startsWith('npm:'))) continue;
      if (!specs.some((s) => fromRegistry(s.range))) continue;
      add(res?.name ?? specs[0].name, String(e.version));
    }
    return [...found.values()];
  }
  let specs: Array<{ name: string; range: string }> = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    if (!/^\s/.test(line) && line.trimEnd().endsWith(':')) {
      specs = line
        .trimEnd()
        .slice(0, -1)
        .split(',')
        .map(splitSpec)
        .filter((x): x is { name: string; range: string } => !!x);
      continue;
    }
    const m = /^\s{2}"?version"?\s+"?([^"\s]+)"?\s*$/.exec(line);
    if (m && specs.length && specs.some((s) => fromRegistry(s.range))) {
      add(specs[0].name, m[1]);
      specs = [];
    }
  }
  return [...found.values()];
}

const YARN_LOCK = /(^|\/)yarn\.lock$/;

export const yarnLockCataloger = lockfileCataloger({
  name: 'yarn-lock',
  type: 'npm',
  wants: (path) => YARN_LOCK.test(path) && !path.includes('node_modules/'),
  parse: (content) => parseYarnLock(content.toString('utf8')),
  purl: npmPurl,
});
