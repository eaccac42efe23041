import { LayeredFileSystem } from '../image/filesystem.js';
import type { OpenedImage } from '../image/model.js';
import { apkCataloger } from './apk.js';
import { dpkgCataloger } from './dpkg.js';
import type { CatalogContext, Cataloger, Package } from './model.js';
import { detectOs, OS_FILES, type OsInfo } from './os-release.js';
import { rpmCataloger } from './rpm/index.js';

/** Every cataloger; a new ecosystem is one module and one line here. */
export const catalogers: Cataloger[] = [apkCataloger, dpkgCataloger, rpmCataloger];

/** Which files the layer readers keep in memory: those some cataloger or OS detection reads. */
export function wantedBy(list: Cataloger[] = catalogers): (path: string) => boolean {
  return (path) => OS_FILES.has(path) || list.some((c) => c.wants(path));
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
  packages.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
  return { os, packages, warnings: ctx.warnings };
}
