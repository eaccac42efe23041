import { PackageURL } from 'packageurl-js';
import type { ProbeFactory } from '../../image/probe.js';
import { probeCataloger } from '../files.js';
import { CLASSIFIERS, type BinaryClassifier } from './classifiers.js';
import { globalRegex } from '../../regex.js';

/** What the probe found in one file: classifier name → version. */
type Found = Record<string, string>;

const MAX_BINARY = 512 * 1024 * 1024;
/** Bytes kept from one chunk to the next so a version string split between chunks is still seen. */
const OVERLAP = 1024;
/** Each pattern as a global regex (matchAll needs the g flag), compiled once, not per chunk. */
const GLOBAL = new Map(CLASSIFIERS.map((c) => [c, globalRegex(c.pattern)]));

/**
 * Streams each candidate file (chosen by its name) through the classifiers' patterns and keeps
 * only the versions found, so a 50 MB library costs no memory.
 */
export const binaryVersionProbe: ProbeFactory = {
  name: 'binary-version',
  wants: (path, _mode, size) => size > 0 && size <= MAX_BINARY && CLASSIFIERS.some((c) => c.file.test(path)),
  create(path: string) {
    let active: BinaryClassifier[] = CLASSIFIERS.filter((c) => c.file.test(path));
    let tail = '';
    const found: Found = {};
    return {
      push(chunk: Buffer) {
        if (!active.length) return;
        const text = tail + chunk.toString('latin1');
        for (const c of active) {
          if (found[c.name]) continue;
          for (const m of text.matchAll(GLOBAL.get(c)!)) {
            const v = c.version ? c.version(m[1], path) : m[1];
            if (v) {
              found[c.name] = v;
              break;
            }
          }
        }
        tail = text.slice(-OVERLAP);
        if (active.every((c) => found[c.name])) active = [];
      },
      done: () => active.length === 0,
      finish() {
        return Object.keys(found).length ? found : undefined;
      },
    };
  },
};

export function genericPurl(name: string, version: string): string {
  return new PackageURL('generic', undefined, name, version, undefined, undefined).toString();
}

/**
 * Components identified from signatures inside binaries. A binary that an OS package installed is
 * left to that package (catalogImage drops it once owners are linked).
 */
export const binaryCataloger = probeCataloger<Found>({
  name: 'binary',
  probe: binaryVersionProbe,
  packages: (found, where) =>
    Object.entries(found).map(([name, version]) => ({
      name,
      version,
      type: 'generic',
      licenses: [],
      purl: genericPurl(name, version),
      foundBy: 'binary',
      description: `identified from the binary ${where.path}`,
      locations: [where],
      layer: where.layer,
    })),
});
