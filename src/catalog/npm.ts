import { PackageURL } from 'packageurl-js';
import { CustomsError } from '../errors.js';
import { wantedFiles } from './files.js';
import { readJson, type Keep } from './json-keep.js';
import type { CatalogContext, Cataloger, Package } from './model.js';

/** The package.json of every installed package: node_modules/NAME or node_modules/@SCOPE/NAME, nested or hoisted. */
const WANTS = /(^|\/)node_modules\/(@[^/]+\/)?[^/@][^/]*\/package\.json$/;
/** npm's rule: lower case, URL-safe, at most 214 characters, optionally @scope/. */
const VALID_NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;

type LicenseField = string | { type?: string } | Array<string | { type?: string }> | null | undefined;

/** `license` as a string or {type}, or the legacy `licenses` array. */
export function npmLicenses(license: LicenseField, legacy?: LicenseField): string[] {
  const one = (l: unknown): string[] =>
    typeof l === 'string'
      ? [l]
      : l && typeof l === 'object' && typeof (l as { type?: unknown }).type === 'string'
        ? [(l as { type: string }).type]
        : [];
  const all = [
    ...(Array.isArray(license) ? license.flatMap(one) : one(license)),
    ...(Array.isArray(legacy) ? legacy.flatMap(one) : one(legacy)),
  ];
  return [...new Set(all.map((s) => s.trim()).filter(Boolean))];
}

export interface NpmManifest {
  name: string;
  version: string;
  licenses: string[];
  description?: string;
}

/** An installed package.json; undefined (with a reason) when it is not a usable package. */
export function parsePackageJson(text: string): NpmManifest | { error: string } {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text);
  } catch {
    return { error: 'not valid JSON' };
  }
  return packageJsonManifest(doc);
}

/** What packageJsonManifest reads of a package.json. */
export const PACKAGE_JSON_KEEP: Keep = {
  name: true,
  version: true,
  license: true,
  licenses: true,
  description: true,
};

/** An installed package.json's document (see parsePackageJson). */
export function packageJsonManifest(doc: Record<string, unknown>): NpmManifest | { error: string } {
  if (!doc || typeof doc !== 'object') return { error: 'no name or version' };
  if (typeof doc.name !== 'string' || typeof doc.version !== 'string' || !doc.name || !doc.version)
    return { error: 'no name or version' };
  if (doc.name.length > 214 || !VALID_NAME.test(doc.name))
    return { error: `invalid package name "${doc.name.slice(0, 40)}"` };
  return {
    name: doc.name,
    version: doc.version,
    licenses: npmLicenses(doc.license as LicenseField, doc.licenses as LicenseField),
    description: typeof doc.description === 'string' ? doc.description : undefined,
  };
}

export function npmPurl(name: string, version: string): string {
  const scoped = /^(@[^/]+)\/(.+)$/.exec(name);
  return new PackageURL(
    'npm',
    scoped?.[1],
    scoped ? scoped[2] : name,
    version,
    undefined,
    undefined,
  ).toString();
}

export const npmCataloger: Cataloger = {
  name: 'npm',
  wants: (path) => WANTS.test(path),
  async catalog(ctx: CatalogContext): Promise<Package[]> {
    const out: Package[] = [];
    for await (const { path, content } of wantedFiles(ctx.fs, (p) => WANTS.test(p))) {
      let m: NpmManifest | { error: string };
      try {
        m = await readJson(content, PACKAGE_JSON_KEEP, packageJsonManifest);
      } catch (err) {
        // Not JSON, or more than may be kept of it (a crafted file): named either way.
        ctx.warnings.push(
          `/${path}: ${err instanceof CustomsError ? err.message : 'not valid JSON'}; skipped`,
        );
        continue;
      }
      // Test fixtures and templates inside packages are common; only real damage is worth a word.
      if ('error' in m) continue;
      const layer = ctx.fs.stat(path)?.layer;
      out.push({
        name: m.name,
        version: m.version,
        type: 'npm',
        licenses: m.licenses,
        purl: npmPurl(m.name, m.version),
        description: m.description,
        foundBy: 'npm',
        locations: [{ path: `/${path}`, layer }],
        layer,
      });
    }
    return out;
  },
};
