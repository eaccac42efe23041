import { PackageURL } from 'packageurl-js';
import YAML from 'yaml';
import { pub } from '../ecosystems/pub.js';
import { lockfileCataloger, type Pinned } from './files.js';

/**
 * Dart/Flutter: pubspec.lock in source trees (YAML, `packages: {name: {dependency, source,
 * version}}`). SDK packages (`source: sdk`, flutter_test 0.0.0) are listed as the lockfile writes
 * them, as Trivy does; `direct dev` dependencies are flagged dev.
 */
export function parsePubspecLock(text: string): Pinned[] {
  const doc = YAML.parse(text) as unknown;
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || !('packages' in doc))
    throw new Error('no packages map');
  const packages = (doc as { packages: unknown }).packages;
  if (packages === null) return [];
  if (typeof packages !== 'object' || Array.isArray(packages)) throw new Error('packages is not a map');
  const out: Pinned[] = [];
  for (const [name, p] of Object.entries(packages as Record<string, unknown>)) {
    const e = p as { version?: unknown; dependency?: unknown } | null;
    if (!e || typeof e.version !== 'string' || !e.version) continue;
    out.push({ name, version: e.version, dev: e.dependency === 'direct dev' });
  }
  return out;
}

export const pubspecLockCataloger = lockfileCataloger({
  name: 'pubspec-lock',
  type: pub.purlType!,
  wants: (p) => /(^|\/)pubspec\.lock$/.test(p),
  parse: (content) => parsePubspecLock(content.toString('utf8')),
  purl: (name, version) =>
    new PackageURL(pub.purlType!, undefined, name, version, undefined, undefined).toString(),
  // YAML's document model is costly per byte: lockfiles of thousands of packages stay far below this.
  maxBytes: 8 * 1024 * 1024,
});
