import { lockfileCataloger } from './files.js';
import { readJson, type Keep } from './json-keep.js';
import { npmPurl } from './npm.js';

/**
 * package-lock.json (lockfile versions 1, 2 and 3; npm-shrinkwrap.json too): every resolved
 * package with its dev flag. v2/v3 list installed paths under `packages` (workspaces appear as
 * links to their folders); v1 nests `dependencies`.
 */
export interface LockedPackage {
  name: string;
  /** Empty for a workspace package without a version. */
  version: string;
  dev: boolean;
}

interface V2Entry {
  name?: string;
  version?: string;
  dev?: boolean;
  link?: boolean;
  resolved?: string;
}

interface V1Entry {
  version?: string;
  dev?: boolean;
  dependencies?: Record<string, V1Entry>;
}

const NM = 'node_modules/';

/** npm's package-name rule, lenient on case (old packages have capitals). */
const VALID_NAME = /^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/i;

type PackageLock = {
  lockfileVersion?: number;
  packages?: Record<string, V2Entry>;
  dependencies?: Record<string, V1Entry>;
};

export function parsePackageLock(text: string): LockedPackage[] {
  return packageLockPins(JSON.parse(text) as PackageLock);
}

const V1_KEEP: { [key: string]: Keep } = {};
V1_KEEP['*'] = { version: true, dev: true, dependencies: V1_KEEP };
/** What packageLockPins reads of a package-lock.json (v1 nests `dependencies` to any depth). */
export const PACKAGE_LOCK_KEEP: Keep = {
  lockfileVersion: true,
  packages: { '*': { name: true, version: true, dev: true, link: true, resolved: true } },
  dependencies: V1_KEEP,
};

export function packageLockPins(doc: PackageLock): LockedPackage[] {
  const found = new Map<string, LockedPackage>();
  const add = (name: string, version: string | undefined, dev: boolean) => {
    // Only valid npm package names (a stray `node_modules/x` key in a v1 file is not one).
    if (!VALID_NAME.test(name)) return;
    const key = `${name}@${version ?? ''}`;
    const prev = found.get(key);
    // The same package as a dev and a production dependency is a production dependency.
    if (prev) prev.dev &&= dev;
    else found.set(key, { name, version: version ?? '', dev });
  };
  if (doc.packages && (doc.lockfileVersion ?? 2) >= 2) {
    for (const [path, e] of Object.entries(doc.packages)) {
      if (path === '' || !e || typeof e !== 'object') continue;
      const i = path.lastIndexOf(NM);
      if (i < 0) continue; // a workspace folder: reported through its link below
      const name = e.name ?? path.slice(i + NM.length);
      if (e.link) {
        const target = e.resolved ? doc.packages[e.resolved] : undefined;
        if (!target) continue; // a link to nothing
        add(name, target.version, !!e.dev);
        continue;
      }
      add(name, e.version, !!e.dev);
    }
  } else if (doc.dependencies) {
    // A package nested under a dev dependency is dev too, whether or not its own entry says so.
    const walk = (deps: Record<string, V1Entry>, parentDev: boolean) => {
      for (const [name, e] of Object.entries(deps)) {
        if (!e || typeof e !== 'object') continue;
        const dev = parentDev || !!e.dev;
        add(name, e.version, dev);
        if (e.dependencies) walk(e.dependencies, dev);
      }
    };
    walk(doc.dependencies, false);
  }
  return [...found.values()];
}

const LOCKFILE = /(^|\/)(package-lock|npm-shrinkwrap)\.json$/;

/** Lockfiles of source trees (`customs fs`); images are inventoried from what is installed. */
export const npmLockCataloger = lockfileCataloger({
  name: 'npm-lock',
  type: 'npm',
  wants: (path) => LOCKFILE.test(path) && !path.includes('node_modules/'),
  parse: (content) => readJson(content, PACKAGE_LOCK_KEEP, packageLockPins),
  purl: npmPurl,
});
