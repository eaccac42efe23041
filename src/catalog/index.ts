import { CustomsError, withInput } from '../errors.js';
import { isOsPackageType } from '../ecosystems/index.js';
import { LayeredFileSystem } from '../image/filesystem.js';
import type { OpenedImage } from '../image/model.js';
import type { Wants } from '../image/layer-reader.js';
import { apkCataloger } from './apk.js';
import { goBinaryCataloger } from './golang.js';
import { javaArchiveCataloger } from './java/index.js';
import { binaryCataloger } from './binaries/index.js';
import { gradleLockCataloger, sbtLockCataloger } from './java/lockfiles.js';
import { pomCataloger } from './java/pom.js';
import { gemfileLockCataloger, gemspecCataloger } from './ruby.js';
import { composerInstalledCataloger, composerLockCataloger, peclRegistryCataloger } from './php.js';
import {
  depsJsonCataloger,
  packagesConfigCataloger,
  packagesLockCataloger,
  packagesPropsCataloger,
} from './dotnet.js';
import { cargoLockCataloger } from './rust.js';
import { cargoAuditableCataloger } from './rust-binary.js';
import { pdmLockCataloger, poetryLockCataloger, pylockCataloger, uvLockCataloger } from './python-tomls.js';
import { goModCataloger, goSumCataloger } from './golang-mod.js';
import { dpkgCataloger } from './dpkg.js';
import type { CatalogContext, Cataloger, Package } from './model.js';
import { boundPackages, MAX_PACKAGES_PER_SCAN } from './bounds.js';
import { detectOs, OS_FILES, type OsInfo } from './os-release.js';
import { npmCataloger } from './npm.js';
import { npmLockCataloger } from './npm-lock.js';
import { pythonCataloger } from './python.js';
import { pythonLockCataloger } from './python-locks.js';
import { yarnLockCataloger } from './yarn-lock.js';
import { pnpmLockCataloger } from './pnpm-lock.js';
import { bunLockCataloger } from './bun-lock.js';
import { rpmCataloger } from './rpm/index.js';
import { cranDescriptionCataloger, renvLockCataloger } from './cran.js';
import { mixLockCataloger } from './hex.js';
import { pubspecLockCataloger } from './pub.js';

/** Every cataloger; a new ecosystem is one module and one line here. */
export const catalogers: Cataloger[] = [
  apkCataloger,
  dpkgCataloger,
  rpmCataloger,
  npmCataloger,
  pythonCataloger,
  goBinaryCataloger,
  javaArchiveCataloger,
  gemspecCataloger,
  composerInstalledCataloger,
  peclRegistryCataloger,
  depsJsonCataloger,
  binaryCataloger,
  cargoAuditableCataloger,
  cranDescriptionCataloger,
];

/** Which files the layer readers keep in memory: those some cataloger or OS detection reads. */
export function wantedBy(list: Cataloger[] = catalogers): Wants {
  const wants: Wants = (path) => OS_FILES.has(path) || list.some((c) => c.wants(path));
  wants.probes = list.flatMap((c) => c.probes ?? []);
  wants.key = list.map((c) => c.name).join(',');
  const databases = list.filter((c) => c.database);
  wants.database = (path) => databases.some((c) => c.wants(path));
  return wants;
}

export interface Inventory {
  os?: OsInfo;
  packages: Package[];
  warnings: string[];
}

/** Source trees (`customs fs`) also read lockfiles. */
export const sourceTreeCatalogers: Cataloger[] = [
  ...catalogers,
  npmLockCataloger,
  yarnLockCataloger,
  pnpmLockCataloger,
  bunLockCataloger,
  pythonLockCataloger,
  gradleLockCataloger,
  sbtLockCataloger,
  pomCataloger,
  gemfileLockCataloger,
  composerLockCataloger,
  packagesLockCataloger,
  packagesConfigCataloger,
  packagesPropsCataloger,
  cargoLockCataloger,
  poetryLockCataloger,
  uvLockCataloger,
  pdmLockCataloger,
  pylockCataloger,
  goModCataloger,
  goSumCataloger,
  renvLockCataloger,
  mixLockCataloger,
  pubspecLockCataloger,
];

/** `mergeDuplicates`: one package per purl (source trees, where a lockfile and node_modules both list it). */
export async function catalogImage(
  image: OpenedImage,
  list: Cataloger[] = catalogers,
  mergeDuplicates = false,
): Promise<Inventory> {
  const fs = new LayeredFileSystem(image.layers);
  const os = await detectOs(fs);
  const ctx: CatalogContext = { fs, os, warnings: [] };
  let packages: Package[] = [];
  let full = false;
  for (const c of list) {
    try {
      // One by one: spreading a crafted tree's hundreds of thousands of packages overflows the stack.
      for (const p of boundPackages(await c.catalog(ctx), ctx.warnings)) {
        if (packages.length === MAX_PACKAGES_PER_SCAN) {
          full = true;
          ctx.warnings.push(
            `more than ${MAX_PACKAGES_PER_SCAN} packages in one image (a crafted image?): the rest, from ${c.name} on, left out`,
          );
          break;
        }
        packages.push(p);
      }
      if (full) break;
    } catch (err) {
      // A damaged database names the image it came from; a bug stays a bug (exit 2).
      throw err instanceof CustomsError ? withInput(err, image.metadata.target) : err;
    }
  }
  linkOwners(packages);
  // A binary an OS package installed is that package's: reporting it again would double-count.
  for (let i = packages.length - 1; i >= 0; i--)
    if (packages[i].foundBy === 'binary' && packages[i].ownedBy) packages.splice(i, 1);
  if (mergeDuplicates) packages = dedupe(packages);
  packages.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
  return { os, packages, warnings: ctx.warnings };
}

/** The same package found twice (installed and in a lockfile) is one package with both locations. */
function dedupe(packages: Package[]): Package[] {
  // One pass (splicing each duplicate out was quadratic: a tree of thousands of modules inheriting
  // one parent's dependencies lists each of them thousands of times).
  const seen = new Map<string, Package>();
  return packages.filter((p) => {
    const prev = seen.get(p.purl);
    if (!prev) {
      seen.set(p.purl, p);
      return true;
    }
    prev.locations.push(...p.locations);
    return false;
  });
}

/**
 * Tie language packages to the OS package that installed their files (dpkg, apk and rpm file
 * lists): the distro's feed covers those, with its backported fixes.
 */
function linkOwners(packages: Package[]): void {
  const owner = new Map<string, string>();
  for (const p of packages) {
    if (!p.files) continue;
    for (const f of p.files) owner.set(f.replace(/^\/+/, ''), p.purl);
  }
  if (owner.size === 0) return;
  for (const p of packages) {
    if (p.files || isOsPackageType(p.type)) continue;
    // A package nested in an archive (`app.war!/WEB-INF/lib/x.jar`) belongs to the outer file's owner.
    const path = p.locations[0]?.path.replace(/^\/+/, '').split('!/')[0];
    const by = path ? owner.get(path) : undefined;
    if (by) p.ownedBy = by;
  }
}
