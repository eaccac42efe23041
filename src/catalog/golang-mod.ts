import { lockfileCataloger, type Pinned } from './files.js';
import { goPurl, goToolchainSemver } from './golang.js';

/**
 * Go source trees: go.mod's requirements with its replace directives applied, and the toolchain
 * the module asks for (`toolchain go1.22.5`) as the standard library. go.sum is read only where
 * no go.mod stands beside it: it also lists versions the build never selected.
 */

interface Replace {
  from: string;
  fromVersion?: string;
  to: string;
  toVersion?: string;
}

const stripComment = (l: string) => l.replace(/\/\/.*$/, '').trim();

export function parseGoMod(text: string): Pinned[] {
  const requires: Array<{ path: string; version: string }> = [];
  const replaces: Replace[] = [];
  const excludes = new Set<string>();
  let toolchain: string | undefined;
  let block: 'require' | 'replace' | 'exclude' | undefined;
  const onRequire = (s: string) => {
    const [path, version] = s.split(/\s+/);
    if (path && version) requires.push({ path, version });
  };
  const onReplace = (s: string) => {
    const m = /^(\S+)(?:\s+(\S+))?\s+=>\s+(\S+)(?:\s+(\S+))?$/.exec(s);
    if (m) replaces.push({ from: m[1], fromVersion: m[2], to: m[3], toVersion: m[4] });
  };
  for (const raw of text.split(/\r?\n/)) {
    const line = stripComment(raw);
    if (!line) continue;
    if (block) {
      if (line === ')') block = undefined;
      else if (block === 'require') onRequire(line);
      else if (block === 'exclude') excludes.add(line.split(/\s+/).join('@'));
      else onReplace(line);
      continue;
    }
    const m = /^(require|replace|exclude|toolchain)\s+(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'toolchain') toolchain = m[2].trim();
    else if (m[2].trim() === '(') block = m[1] as 'require' | 'replace' | 'exclude';
    else if (m[1] === 'require') onRequire(m[2].trim());
    else if (m[1] === 'exclude') excludes.add(m[2].trim().split(/\s+/).join('@'));
    else onReplace(m[2].trim());
  }
  const out: Pinned[] = [];
  for (const r of requires) {
    // An excluded version is never built; which one replaces it needs the module graph.
    if (excludes.has(`${r.path}@${r.version}`)) continue;
    const rep = replaces.find((x) => x.from === r.path && (!x.fromVersion || x.fromVersion === r.version));
    if (!rep) out.push({ name: r.path, version: r.version });
    else if (rep.toVersion) out.push({ name: rep.to, version: rep.toVersion });
    // A replacement by a local folder names no published version: nothing to match.
  }
  const go = toolchain && goToolchainSemver(toolchain);
  if (go) out.push({ name: 'stdlib', version: go });
  return out;
}

/** go.sum: one entry per module and version (the `/go.mod`-only lines included). */
export function parseGoSum(text: string): Pinned[] {
  const out = new Map<string, Pinned>();
  for (const line of text.split(/\r?\n/)) {
    const [path, v] = line.trim().split(/\s+/);
    if (!path || !v) continue;
    const version = v.replace(/\/go\.mod$/, '');
    out.set(`${path}@${version}`, { name: path, version });
  }
  return [...out.values()];
}

export const goModCataloger = lockfileCataloger({
  name: 'go-mod',
  type: 'golang',
  wants: (p) => /(^|\/)go\.mod$/.test(p),
  parse: (content) => parseGoMod(content.toString('utf8')),
  purl: goPurl,
});

export const goSumCataloger = lockfileCataloger({
  name: 'go-sum',
  type: 'golang',
  wants: (p) => /(^|\/)go\.sum$/.test(p),
  skip: (p, fs) => !!fs.stat(p.replace(/go\.sum$/, 'go.mod')),
  parse: (content) => parseGoSum(content.toString('utf8')),
  purl: goPurl,
});
