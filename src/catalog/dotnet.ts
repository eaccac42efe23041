import { PackageURL } from 'packageurl-js';
import type { XMLParser } from 'fast-xml-parser';
import { fastXml } from './lazy-parsers.js';
import { lockfileCataloger, type Pinned } from './files.js';
import { readJson, type Keep } from './json-keep.js';

/**
 * .NET: `*.deps.json` beside a published application (what it loads at run time), and NuGet's
 * `packages.lock.json` in source trees. The application's own projects are not NuGet packages and
 * are left out (advisories about a same-named package would be false positives).
 */

export function nugetPurl(name: string, version: string): string {
  return new PackageURL('nuget', undefined, name, version, undefined, undefined).toString();
}

interface DepsJson {
  runtimeTarget?: { name?: string };
  targets?: Record<string, Record<string, { runtime?: object; runtimeTargets?: object; native?: object }>>;
  libraries?: Record<string, { type?: string }>;
}

const nonEmpty = (o?: object) => !!o && Object.keys(o).length > 0;

/**
 * Libraries of type `package` (and the bundled runtime packs of a self-contained app) that the
 * runtime target loads: an entry with runtime, runtimeTargets or native assets, or none at all
 * when the target lists nothing. Compile-only references (no assets) are not shipped.
 */
export function parseDepsJson(text: string): Pinned[] {
  return depsJsonPins(JSON.parse(text) as DepsJson);
}

/** What depsJsonPins reads of a deps.json. */
export const DEPS_JSON_KEEP: Keep = {
  runtimeTarget: { name: true },
  targets: { '*': { '*': { runtime: true, runtimeTargets: true, native: true } } },
  libraries: { '*': { type: true } },
};

export function depsJsonPins(doc: DepsJson): Pinned[] {
  const target = doc.targets?.[doc.runtimeTarget?.name ?? ''] ?? {};
  const out: Pinned[] = [];
  for (const [key, lib] of Object.entries(doc.libraries ?? {})) {
    if (lib.type !== 'package' && lib.type !== 'runtimepack') continue;
    const slash = key.lastIndexOf('/');
    if (slash <= 0) continue;
    const t = target[key];
    if (t && !nonEmpty(t.runtime) && !nonEmpty(t.runtimeTargets) && !nonEmpty(t.native)) continue;
    out.push({ name: key.slice(0, slash).replace(/^runtimepack\./, ''), version: key.slice(slash + 1) });
  }
  return out;
}

/** packages.lock.json: every resolved package of every target framework, once. */
export function parsePackagesLock(text: string): Pinned[] {
  return packagesLockPins(JSON.parse(text) as PackagesLock);
}

type PackagesLock = { dependencies?: Record<string, Record<string, { type?: string; resolved?: string }>> };

/** What packagesLockPins reads of a packages.lock.json. */
export const PACKAGES_LOCK_KEEP: Keep = { dependencies: { '*': { '*': { type: true, resolved: true } } } };

export function packagesLockPins(doc: PackagesLock): Pinned[] {
  const out = new Map<string, Pinned>();
  for (const deps of Object.values(doc.dependencies ?? {})) {
    for (const [name, d] of Object.entries(deps ?? {})) {
      if (!d?.resolved || d.type === 'Project') continue;
      out.set(`${name}@${d.resolved}`, { name, version: d.resolved });
    }
  }
  return [...out.values()];
}

export const depsJsonCataloger = lockfileCataloger({
  name: 'dotnet-deps',
  type: 'nuget',
  wants: (p) => /\.deps\.json$/.test(p),
  parse: (content) => readJson(content, DEPS_JSON_KEEP, depsJsonPins),
  purl: nugetPurl,
});

export const packagesLockCataloger = lockfileCataloger({
  name: 'nuget-packages-lock',
  type: 'nuget',
  wants: (p) => /(^|\/)packages\.lock\.json$/.test(p),
  parse: (content) => readJson(content, PACKAGES_LOCK_KEEP, packagesLockPins),
  purl: nugetPurl,
});

let parser: XMLParser | undefined;
const xml = (): XMLParser =>
  (parser ??= new (fastXml().XMLParser)({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
  }));

function xmlDoc(text: string): Record<string, unknown[]> {
  // The parser is lenient; a document that does not close is an error here, as for MSBuild.
  const valid = fastXml().XMLValidator.validate(text);
  if (valid !== true) throw new Error(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  return xml().parse(text) as Record<string, unknown[]>;
}

/** packages.config (NuGet before PackageReference): `<package id version developmentDependency>`. */
export function parsePackagesConfig(text: string): Pinned[] {
  const doc = xmlDoc(text);
  const root = (doc.packages?.[0] ?? {}) as { package?: Array<Record<string, string>> };
  return (root.package ?? [])
    .filter((p) => p.id && p.version)
    .map((p) => ({ name: p.id.trim(), version: p.version.trim(), dev: p.developmentDependency === 'true' }));
}

/**
 * Central package management: Directory.Packages.props / packages.props, `PackageVersion` or
 * `PackageReference` items with Include (or Update) and Version; MSBuild variables are not
 * evaluated, so items that use them are left out.
 */
export function parsePackagesProps(text: string): Pinned[] {
  const doc = xmlDoc(text);
  const project = doc.Project?.[0] as Record<string, unknown[]> | undefined;
  if (!project) throw new Error('no <Project> element');
  const out: Pinned[] = [];
  for (const group of (project.ItemGroup ?? []) as Array<Record<string, Array<Record<string, string>>>>) {
    for (const item of [...(group.PackageVersion ?? []), ...(group.PackageReference ?? [])]) {
      const name = (item.Include ?? item.Update ?? '').trim();
      const version = (item.Version ?? '').trim();
      if (!name || !version || name.includes('$(') || version.includes('$(')) continue;
      out.push({ name, version });
    }
  }
  return out;
}

export const packagesConfigCataloger = lockfileCataloger({
  name: 'nuget-packages-config',
  type: 'nuget',
  wants: (p) => /(^|\/)packages\.config$/.test(p),
  parse: (content) => parsePackagesConfig(content.toString('utf8')),
  purl: nugetPurl,
});

export const packagesPropsCataloger = lockfileCataloger({
  name: 'nuget-packages-props',
  type: 'nuget',
  wants: (p) => /(^|\/)(Directory\.)?[Pp]ackages\.props$/.test(p),
  parse: (content) => parsePackagesProps(content.toString('utf8')),
  purl: nugetPurl,
});
