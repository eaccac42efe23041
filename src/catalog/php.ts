import { PackageURL } from 'packageurl-js';
import { lockfileCataloger, type Pinned } from './files.js';

/**
 * PHP Composer packages: what `composer install` put in `vendor/composer/installed.json` (a list in
 * Composer 1, `{packages, dev-package-names}` in Composer 2), and composer.lock in source trees
 * (`packages`, and `packages-dev` flagged dev).
 */

export function composerPurl(name: string, version: string): string {
  const [vendor, pkg] = name.includes('/') ? name.split('/', 2) : [undefined, name];
  return new PackageURL('composer', vendor, pkg, version, undefined, undefined).toString();
}

interface ComposerPackage {
  name?: string;
  version?: string;
  license?: string[] | string;
}

/** Composer reports tagged releases as `v1.2.3`; advisories use `1.2.3`. Branches (`dev-main`) pin nothing. */
const version = (v: string | undefined) =>
  v && !v.startsWith('dev-') ? v.replace(/^v(?=\d)/, '') : undefined;

function pins(list: ComposerPackage[] | undefined, dev: (name: string) => boolean): Pinned[] {
  const out: Pinned[] = [];
  for (const p of list ?? []) {
    const v = version(p.version);
    if (!p.name || !v) continue;
    const licenses = Array.isArray(p.license) ? p.license : p.license ? [p.license] : [];
    out.push({ name: p.name, version: v, dev: dev(p.name), licenses });
  }
  return out;
}

export function parseComposerLock(text: string): Pinned[] {
  const doc = JSON.parse(text) as { packages?: ComposerPackage[]; 'packages-dev'?: ComposerPackage[] };
  return [...pins(doc.packages, () => false), ...pins(doc['packages-dev'], () => true)];
}

export function parseInstalledJson(text: string): Pinned[] {
  const doc = JSON.parse(text) as
    ComposerPackage[] | { packages?: ComposerPackage[]; 'dev-package-names'?: string[] };
  if (Array.isArray(doc)) return pins(doc, () => false);
  const devNames = new Set(doc['dev-package-names'] ?? []);
  return pins(doc.packages, (n) => devNames.has(n));
}

export const composerInstalledCataloger = lockfileCataloger({
  name: 'composer-installed',
  type: 'composer',
  wants: (p) => /(^|\/)vendor\/composer\/installed\.json$/.test(p),
  parse: (content) => parseInstalledJson(content.toString('utf8')),
  purl: composerPurl,
});

export const composerLockCataloger = lockfileCataloger({
  name: 'composer-lock',
  type: 'composer',
  wants: (p) => /(^|\/)composer\.lock$/.test(p),
  parse: (content) => parseComposerLock(content.toString('utf8')),
  purl: composerPurl,
});
