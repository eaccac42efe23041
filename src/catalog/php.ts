import { PackageURL } from 'packageurl-js';
import { lockfileCataloger, type Pinned } from './files.js';
import { clip } from './bounds.js';
import { readJson, type Keep } from './json-keep.js';

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
  return composerLockPins(JSON.parse(text) as ComposerLock);
}

type ComposerLock = { packages?: ComposerPackage[]; 'packages-dev'?: ComposerPackage[] };
const PACKAGE_KEEP: Keep = { name: true, version: true, license: true };
/** What composerLockPins reads of a composer.lock. */
export const COMPOSER_LOCK_KEEP: Keep = {
  packages: { '*': PACKAGE_KEEP },
  'packages-dev': { '*': PACKAGE_KEEP },
};

export function composerLockPins(doc: ComposerLock): Pinned[] {
  return [...pins(doc.packages, () => false), ...pins(doc['packages-dev'], () => true)];
}

export function parseInstalledJson(text: string): Pinned[] {
  return installedJsonPins(JSON.parse(text) as InstalledJson);
}

type InstalledJson = ComposerPackage[] | { packages?: ComposerPackage[]; 'dev-package-names'?: string[] };
/** What installedJsonPins reads of installed.json (Composer 1: a list; 2: an object). */
export const INSTALLED_JSON_KEEP: Keep = {
  '*': PACKAGE_KEEP,
  packages: { '*': PACKAGE_KEEP },
  'dev-package-names': true,
};

export function installedJsonPins(doc: InstalledJson): Pinned[] {
  if (Array.isArray(doc)) return pins(doc, () => false);
  const devNames = new Set(doc['dev-package-names'] ?? []);
  return pins(doc.packages, (n) => devNames.has(n));
}

export const composerInstalledCataloger = lockfileCataloger({
  name: 'composer-installed',
  type: 'composer',
  wants: (p) => /(^|\/)vendor\/composer\/installed\.json$/.test(p),
  parse: (content) => readJson(content, INSTALLED_JSON_KEEP, installedJsonPins),
  purl: composerPurl,
});

export const composerLockCataloger = lockfileCataloger({
  name: 'composer-lock',
  type: 'composer',
  wants: (p) => /(^|\/)composer\.lock$/.test(p),
  parse: (content) => readJson(content, COMPOSER_LOCK_KEEP, composerLockPins),
  purl: composerPurl,
});

/*
 * PECL and PEAR registry files (`.registry/.channel.pecl.php.net/memcached.reg`, as `pecl install`
 * leaves them in the official PHP images): one PHP-serialized array per package. Read by a small
 * parser written here for the data types only (array, string, int, float, bool, null; no objects,
 * so nothing is ever instantiated), bounded in depth, counts and string length: no maintained
 * JavaScript package reads PHP's serialize format without also supporting objects.
 */
type PhpValue = string | number | boolean | null | Map<string, PhpValue>;

/** Largest registry file read (real ones, file lists and changelogs included, are tens of kilobytes). */
export const MAX_REGISTRY = 4 * 1024 * 1024;
/** Longest string (a changelog's notes are the longest real ones, a few kilobytes). */
const MAX_STRING = 256 * 1024;

export function unserializePhp(b: Buffer): PhpValue {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`not PHP serialized data at byte ${i}: ${why}`);
  };
  const until = (ch: string) => {
    const end = b.indexOf(ch, i);
    if (end < 0 || end - i > 32) fail(`no "${ch}"`);
    const v = b.toString('latin1', i, end);
    i = end + 1;
    return v;
  };
  const value = (depth: number): PhpValue => {
    if (depth > 16) fail('nested too deeply');
    const t = String.fromCharCode(b[i]);
    if (t === 'N') {
      if (b[i + 1] !== 0x3b) fail('bad null');
      i += 2;
      return null;
    }
    if (b[i + 1] !== 0x3a) fail(`bad type "${t}"`);
    i += 2;
    switch (t) {
      case 'b':
        return until(';') === '1';
      case 'i':
      case 'd': {
        const n = Number(until(';'));
        return Number.isFinite(n) ? n : fail('bad number');
      }
      case 's': {
        const len = Number(until(':'));
        if (!Number.isInteger(len) || len < 0 || i + len + 2 > b.length || b[i] !== 0x22) fail('bad string');
        if (len > MAX_STRING) fail(`a string of ${len} bytes (at most ${MAX_STRING})`);
        const v = b.toString('utf8', i + 1, i + 1 + len);
        i += len + 1;
        if (b[i] !== 0x22 || b[i + 1] !== 0x3b) fail('unterminated string');
        i += 2;
        return v;
      }
      case 'a': {
        const n = Number(until(':'));
        if (!Number.isInteger(n) || n < 0 || n > b.length) fail('bad array size');
        if (b[i] !== 0x7b) fail('no "{"');
        i++;
        const m = new Map<string, PhpValue>();
        for (let k = 0; k < n; k++) {
          const key = value(depth + 1);
          if (typeof key !== 'string' && typeof key !== 'number') fail('bad array key');
          m.set(String(key), value(depth + 1));
        }
        if (b[i] !== 0x7d) fail('no "}"');
        i++;
        return m;
      }
      default:
        return fail(`unsupported type "${t}"`);
    }
  };
  return value(0);
}

/** What a registry entry may name: PEAR package names, releases and channel hosts are short and plain. */
const PEAR_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;
const PEAR_VERSION = /^[0-9][0-9A-Za-z.+_-]{0,63}$/;
const PEAR_CHANNEL = /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}(\/[A-Za-z0-9._-]{1,64})*$/;

export function parsePeclRegistry(b: Buffer, path = ''): Pinned[] {
  if (b.length > MAX_REGISTRY)
    throw new Error(`${b.length} bytes is more than a registry entry holds (${MAX_REGISTRY})`);
  const doc = unserializePhp(b);
  if (!(doc instanceof Map)) throw new Error('not a package registry entry');
  const str = (v: PhpValue | undefined) => (typeof v === 'string' ? v : undefined);
  const name = str(doc.get('name'));
  const ver = doc.get('version');
  const version = ver instanceof Map ? str(ver.get('release')) : str(ver);
  if (!name || !version) return [];
  if (!PEAR_NAME.test(name) || !PEAR_VERSION.test(version))
    throw new Error(`not a package name and release: ${clip(name, 40)} ${clip(version, 40)}`);
  // v6 files name their channel; v5 files only through their folder (`.channel.<name>`).
  const channel = str(doc.get('channel')) ?? /\.channel\.([^/]+)\//.exec(path)?.[1] ?? 'pear.php.net';
  if (!PEAR_CHANNEL.test(channel)) throw new Error(`not a channel: ${clip(channel, 40)}`);
  const lic = doc.get('license');
  const license = lic instanceof Map ? str(lic.get('_content')) : str(lic);
  return [
    {
      name,
      version,
      licenses: license ? [license] : [],
      purl: new PackageURL('pear', channel, name, version, undefined, undefined).toString(),
    },
  ];
}

export const peclRegistryCataloger = lockfileCataloger({
  name: 'pecl-registry',
  type: 'pear',
  wants: (p) => /(^|\/)\.registry\/(\.channel\.[^/]+\/)?[^/]+\.reg$/.test(p),
  parse: (content, path) => parsePeclRegistry(content, path),
  maxBytes: MAX_REGISTRY,
  purl: (name, version) =>
    new PackageURL('pear', 'pear.php.net', name, version, undefined, undefined).toString(),
});
