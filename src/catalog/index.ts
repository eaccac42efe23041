import { LayeredFileSystem } from '../image/filesystem.js';
import type { OpenedImage } from '../image/model.js';
import type { Wants } from '../image/layer-reader.js';
import { apkCataloger } from './apk.js';
import { goBinaryCataloger } from './golang.js';
import { dpkgCataloger } from './dpkg.js';
import type { CatalogContext, Cataloger, Package } from './model.js';
import { detectOs, OS_FILES, type OsInfo } from './os-release.js';
import { npmCataloger } from './npm.js';
import { pythonCataloger } from './python.js';
import { rpmCataloger } from './rpm/index.js';

/** Every cataloger; a new ecosystem is one module and one line here. */
export const catalogers: Cataloger[] = [
  apkCataloger,
  dpkgCataloger,
  rpmCataloger,
  npmCataloger,
  pythonCataloger,
  goBinaryCataloger,
];

/** Which files the layer readers keep in memory: those some cataloger or OS detection reads. */
export function wantedBy(list: Cataloger[] = catalogers): Wants {
  const wants: Wants = (path) => OS_FILES.has(path) || list.some((c) => c.wants(path));
  wants.probes = list.flatMap((c) => c.probes ?? []);
  return wants;
}

export interface Inventory {
  os?: OsInfo;
  packages: Package[];
  warnings: string[];
}

export async function catalogImage(image: OpenedImage, list: Cataloger[] = catalogers): Promise<Inventory> {
  const fs = new LayeredFileSystem(image.layers);
  const os = await detectOs(fs);
  const ctx: CatalogContext = { fs, os, warnings: [] };
  const packages: Package[] = [];
  for (const c of list) packages.push(...(await c.catalog(ctx)));
  linkOwners(packages);
  packages.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
  return { os, packages, warnings: ctx.warnings };
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
    if (p.files || ['apk', 'deb', 'rpm'].includes(p.type)) continue;
    const path = p.locations[0]?.path.replace(/^\/+/, '');
    const by = path ? owner.get(path) : undefined;
    if (by) p.ownedBy = by;
  }
}
