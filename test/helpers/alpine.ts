import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { parseApkDb } from '../../src/catalog/apk.js';
import type { Package } from '../../src/catalog/model.js';
import type { ImageMetadata } from '../../src/image/model.js';
import type { OsInfo } from '../../src/catalog/os-release.js';
import { shared } from './paths.js';

/**
 * The real package lists of the shared Alpine minirootfs releases, as stored inventories hold them
 * (for tests and benches that store thousands of inventories without scanning each image).
 */
export function alpinePackageLists(only?: RegExp): Array<{ version: string; packages: Package[] }> {
  return readdirSync(shared('images/alpine'))
    .filter((f) => !only || only.test(f))
    .map((f) => {
      const version = /minirootfs-([\d.]+)-/.exec(f)![1];
      const installed = execFileSync('tar', [
        '-xzOf',
        shared(`images/alpine/${f}`),
        './lib/apk/db/installed',
      ]);
      const packages = parseApkDb(installed.toString('utf8')).map(
        (r) =>
          ({
            name: r.name,
            version: r.version,
            type: 'apk',
            source: { name: r.origin ?? r.name, version: r.version },
            purl: `pkg:apk/alpine/${r.name}@${r.version}`,
            locations: [],
          }) as unknown as Package,
      );
      return { version, packages };
    });
}

/** The image metadata of a stored inventory that no real image stands behind (team/app<i>). */
export function syntheticImage(i: number): ImageMetadata {
  return {
    kind: 'rootfs',
    name: `team/app${i}`,
    target: `app${i}`,
    repoTags: [],
    layers: [],
    warnings: [],
  } as unknown as ImageMetadata;
}

/** The os-release record of an Alpine release as the cataloger reads it. */
export function alpineOs(version: string): OsInfo {
  const [maj, min] = version.split('.');
  return {
    id: 'alpine',
    version,
    versionId: version,
    prettyName: `Alpine Linux v${maj}.${min}`,
  } as unknown as OsInfo;
}
