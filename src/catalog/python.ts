import { PackageURL } from 'packageurl-js';
import { splitLicenses } from './license.js';
import { wantedFiles } from './files.js';
import type { CatalogContext, Cataloger, Package } from './model.js';

/** Installed distributions: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, or an `*.egg-info` file. */
/**
 * Installed distributions: `NAME.dist-info/METADATA` and `NAME.egg-info/PKG-INFO` wherever they
 * are (site-packages, dist-packages, but also `pip install --target` folders and Lambda layers),
 * and the single-file `NAME.egg-info` only inside site-packages/dist-packages.
 */
const WANTS =
  /(^|\/)[^/]+\.(dist-info\/METADATA|egg-info\/PKG-INFO)$|(^|\/)(site|dist)-packages\/[^/]+\.egg-info$/;

export interface PythonMetadata {
  name: string;
  version: string;
  licenses: string[];
  summary?: string;
  author?: string;
}

/** Core metadata (PEP 566/643): RFC 822 style headers up to the first blank line. */
export function parsePythonMetadata(text: string): PythonMetadata | undefined {
  const headers: Array<[string, string]> = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if (/^[ \t]/.test(line) && headers.length) {
      headers[headers.length - 1][1] += `\n${line.trim()}`;
      continue;
    }
    const i = line.indexOf(':');
    if (i > 0) headers.push([line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()]);
  }
  const get = (k: string) => headers.find(([h]) => h === k)?.[1];
  const name = get('name');
  const version = get('version');
  if (!name || !version) return undefined;
  // License-Expression (PEP 639) is exact; trove classifiers are standard names; the free-text
  // License field (often a whole licence text, or UNKNOWN) comes last.
  const expression = get('license-expression');
  const license = get('license');
  const classifiers = headers
    .filter(([h, v]) => h === 'classifier' && v.startsWith('License ::'))
    .map(([, v]) => v.split('::').pop()!.trim())
    .filter((c) => c !== 'OSI Approved');
  const licenses = expression
    ? [expression]
    : classifiers.length
      ? classifiers
      : license && !/^(UNKNOWN|)$/i.test(license) && license.length < 200
        ? splitLicenses(license)
        : [];
  return { name, version, licenses, summary: get('summary'), author: get('author') };
}

/** PEP 503 normalised name, as purls and advisories write it. */
export const pep503 = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');

export const pythonCataloger: Cataloger = {
  name: 'python',
  wants: (path) => WANTS.test(path),
  async catalog(ctx: CatalogContext): Promise<Package[]> {
    const out: Package[] = [];
    for await (const { path, content } of wantedFiles(ctx.fs, (p) => WANTS.test(p))) {
      const text = content.toString('utf8');
      const md = parsePythonMetadata(text);
      if (!md) {
        ctx.warnings.push(`/${path}: no Name/Version in the Python metadata; skipped`);
        continue;
      }
      const layer = ctx.fs.stat(path)?.layer;
      out.push({
        name: md.name,
        version: md.version,
        type: 'pypi',
        licenses: md.licenses,
        purl: new PackageURL('pypi', undefined, pep503(md.name), md.version, undefined, undefined).toString(),
        description: md.summary,
        foundBy: 'python',
        locations: [{ path: `/${path}`, layer }],
        layer,
      });
    }
    return out;
  },
};
