import { PackageURL } from 'packageurl-js';
import { cran } from '../ecosystems/cran.js';
import { lockfileCataloger, wantedFiles, type Pinned } from './files.js';
import { readJson, type Keep } from './json-keep.js';
import { splitLicenses } from './license.js';
import type { CatalogContext, Cataloger, Package } from './model.js';

/**
 * R (CRAN): installed packages and renv lockfiles.
 *
 * An installed package is a folder named after it in a library (`/usr/lib/R/library/stats`,
 * `/usr/local/lib/R/site-library/jsonlite`, an renv project's `renv/library/R-4.3/<platform>/…`),
 * holding a DESCRIPTION file in Debian Control Format. Source trees also pin packages in
 * `renv.lock` (JSON, `Packages: {name: {Package, Version, Source, Repository}}`).
 */

/**
 * The package folder of `<…>/library/<…>/<pkg>/DESCRIPTION` or `<…>/site-library/…`, else
 * undefined. By splitting, not by a regular expression: it runs on every path of every layer, and
 * a pattern with a free middle part backtracks on paths made of many `library/` segments.
 */
export function installedPackageFolder(path: string): string | undefined {
  if (!path.endsWith('/DESCRIPTION')) return undefined;
  const parts = path.split('/');
  const inLibrary = parts.slice(0, -2).some((p) => p === 'library' || p === 'site-library');
  return inLibrary ? parts[parts.length - 2] : undefined;
}
const INSTALLED = (path: string) => installedPackageFolder(path) !== undefined;

export function cranPurl(name: string, version: string): string {
  return new PackageURL(cran.purlType!, undefined, name, version, undefined, undefined).toString();
}

/** Debian Control Format, one paragraph: `Field: value`, continuation lines start with blanks. */
export function parseDcf(text: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      if (last) break; // one paragraph: a DESCRIPTION holds one
      continue;
    }
    if (/^[ \t]/.test(line)) {
      if (last) out[last] += `\n${line.trim()}`;
      continue;
    }
    const i = line.indexOf(':');
    if (i <= 0) continue;
    last = line.slice(0, i).trim();
    out[last] = line.slice(i + 1).trim();
  }
  return out;
}

/** R's License field: `GPL-2 | GPL-3`, `MIT + file LICENSE` (the file only completes the terms). */
export function cranLicenses(field: string | undefined): string[] {
  return (field ?? '')
    .split('|')
    .map((l) => l.replace(/\s*\+\s*file\s+LICEN[CS]E\s*$/i, '').trim())
    .filter((l) => l && !/^file\s+LICEN[CS]E$/i.test(l))
    .flatMap((l) => splitLicenses(l));
}

export const cranDescriptionCataloger: Cataloger = {
  name: 'cran-description',
  wants: INSTALLED,
  async catalog(ctx: CatalogContext): Promise<Package[]> {
    const out: Package[] = [];
    for await (const { path, content } of wantedFiles(ctx.fs, INSTALLED)) {
      const d = parseDcf(content.toString('utf8'));
      if (!d.Package || !d.Version) {
        ctx.warnings.push(`/${path}: no Package/Version in the R DESCRIPTION file; skipped`);
        continue;
      }
      // An installed package's folder is its name; any other DESCRIPTION (a package's own
      // sources kept inside a library folder, say) is not an installed package.
      if (installedPackageFolder(path) !== d.Package) continue;
      const layer = ctx.fs.stat(path)?.layer;
      out.push({
        name: d.Package,
        version: d.Version,
        type: cran.purlType!,
        licenses: cranLicenses(d.License),
        purl: cranPurl(d.Package, d.Version),
        description: d.Title,
        maintainer: d.Maintainer,
        foundBy: 'cran-description',
        locations: [{ path: `/${path}`, layer }],
        layer,
      });
    }
    return out;
  },
};

/** renv.lock: every package it pins (CRAN, Bioconductor, GitHub: R has one namespace of names). */
export function parseRenvLock(text: string): Pinned[] {
  return renvLockPins(JSON.parse(text) as RenvLock);
}

type RenvLock = { Packages?: Record<string, { Package?: unknown; Version?: unknown }> };
/** What renvLockPins reads of an renv.lock. */
export const RENV_LOCK_KEEP: Keep = { Packages: { '*': { Package: true, Version: true } } };

export function renvLockPins(doc: RenvLock): Pinned[] {
  const out: Pinned[] = [];
  if (!doc || typeof doc !== 'object' || !doc.Packages || typeof doc.Packages !== 'object') return out;
  for (const [key, p] of Object.entries(doc.Packages)) {
    if (!p || typeof p !== 'object') continue;
    const name = typeof p.Package === 'string' ? p.Package : key;
    if (typeof p.Version === 'string' && p.Version) out.push({ name, version: p.Version });
  }
  return out;
}

export const renvLockCataloger = lockfileCataloger({
  name: 'renv-lock',
  type: cran.purlType!,
  wants: (p) => /(^|\/)renv\.lock$/.test(p),
  parse: (content) => readJson(content, RENV_LOCK_KEEP, renvLockPins),
  purl: cranPurl,
  // A large project's lockfile is a few hundred KiB; far more is not an renv.lock.
  maxBytes: 64 * 1024 * 1024,
});
