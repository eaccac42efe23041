import { PackageURL } from 'packageurl-js';
import { lockfileCataloger } from './files.js';
import { readJson, type Keep } from './json-keep.js';
import { pep503 } from './python.js';

/**
 * Python dependency files of source trees: pinned requirements files and Pipfile.lock.
 * Only exact pins (`==`, `===`) name an installed version; ranges are left out.
 */
export interface PinnedPackage {
  name: string;
  version: string;
  dev: boolean;
}

/** requirements*.txt: continuations joined, comments, options and environment markers dropped, extras ignored. */
export function parseRequirements(buf: Buffer): PinnedPackage[] {
  let text: string;
  if (buf[0] === 0xff && buf[1] === 0xfe) text = buf.subarray(2).toString('utf16le');
  else if (buf[0] === 0xfe && buf[1] === 0xff)
    text = Buffer.from(buf.subarray(2)).swap16().toString('utf16le');
  else text = buf.toString('utf8').replace(/^\uFEFF/, '');
  const out: PinnedPackage[] = [];
  for (const raw of text.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    // pip wants whitespace before a comment; a pin written `x==1.0#note` still means 1.0.
    const line = raw.replace(/#.*$/, '').split(';')[0].trim();
    if (!line || line.startsWith('-')) continue;
    const m =
      /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*===?\s*([A-Za-z0-9][A-Za-z0-9.+!_-]*)(?:\s+--hash=\S+)*$/.exec(
        line,
      );
    if (m) out.push({ name: m[1], version: m[2], dev: false });
  }
  return out;
}

/** Pipfile.lock: `default` and `develop` sections with `"version": "==X"`. */
export function parsePipfileLock(text: string): PinnedPackage[] {
  return pipfileLockPins(JSON.parse(text) as PipfileLock);
}

type PipfileLock = Record<string, Record<string, { version?: string }>>;
/** What pipfileLockPins reads of a Pipfile.lock. */
export const PIPFILE_LOCK_KEEP: Keep = {
  default: { '*': { version: true } },
  develop: { '*': { version: true } },
};

export function pipfileLockPins(doc: PipfileLock): PinnedPackage[] {
  const out: PinnedPackage[] = [];
  for (const [section, dev] of [
    ['default', false],
    ['develop', true],
  ] as const) {
    for (const [name, e] of Object.entries(doc[section] ?? {})) {
      const v = /^===?(.+)$/.exec(e?.version ?? '')?.[1];
      if (v) out.push({ name, version: v, dev });
    }
  }
  return out;
}

const REQUIREMENTS = /(^|\/)requirements[^/]*\.txt$/;
const PIPFILE_LOCK = /(^|\/)Pipfile\.lock$/;

/** Pinned Python dependencies of source trees (`customs fs`). */
export const pythonLockCataloger = lockfileCataloger({
  name: 'python-lock',
  type: 'pypi',
  wants: (path) =>
    (REQUIREMENTS.test(path) || PIPFILE_LOCK.test(path)) && !/(site|dist)-packages\//.test(path),
  parse: (content, path) =>
    PIPFILE_LOCK.test(path)
      ? readJson(content, PIPFILE_LOCK_KEEP, pipfileLockPins)
      : parseRequirements(content),
  purl: (name, version) =>
    new PackageURL('pypi', undefined, pep503(name), version, undefined, undefined).toString(),
});
