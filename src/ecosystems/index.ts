/**
 * The lists of ecosystems and distributions, and every table derived from them. Adding an
 * ecosystem is one record file and one line in ECOSYSTEMS (plus, if it has one, its cataloger
 * and that cataloger's line in catalog/index.ts); adding a distro is one record file and one
 * line in DISTROS (plus its feed's importer when OSV does not carry it). docs/design.md, "How to add".
 */
import { cpe } from './cpe.js';
import { cran } from './cran.js';
import { cratesIo } from './crates-io.js';
import { almalinux } from './distros/almalinux.js';
import { alpine } from './distros/alpine.js';
import { amazon } from './distros/amazon.js';
import { azurelinux, mariner } from './distros/azure.js';
import { chainguard, wolfi } from './distros/chainguard.js';
import { debian } from './distros/debian.js';
import { fedora } from './distros/fedora.js';
import { oracle } from './distros/oracle.js';
import { photon } from './distros/photon.js';
import { centos, centosStream, rhel } from './distros/redhat.js';
import { rocky } from './distros/rocky.js';
import { opensuseLeap, opensuseTumbleweed, sleMicro, sles } from './distros/suse.js';
import { ubuntu } from './distros/ubuntu.js';
import { go } from './go.js';
import { hex } from './hex.js';
import { maven } from './maven.js';
import type { Distro, Ecosystem, OsPackageType, SchemeName } from './model.js';
import { nodejs } from './nodejs.js';
import { npm } from './npm.js';
import { nuget } from './nuget.js';
import { packagist } from './packagist.js';
import { pub } from './pub.js';
import { pypi } from './pypi.js';
import { rubygems } from './rubygems.js';
import { unmatched } from './unmatched.js';

export type { Distro, DistroFeed, Ecosystem, OsPackageType, SchemeName } from './model.js';
export { CPE_PRODUCTS } from './cpe.js';

/** Every language ecosystem and feed ecosystem; one line each. */
export const ECOSYSTEMS: Ecosystem[] = [
  npm,
  pypi,
  maven,
  go,
  cratesIo,
  rubygems,
  nuget,
  packagist,
  hex,
  pub,
  cran,
  cpe,
  nodejs,
  ...unmatched,
];

/**
 * Every distribution; one line each. The order matters once: Red Hat family release files are
 * tried in it (almalinux-release and rocky-release before redhat-release, which both also ship).
 */
export const DISTROS: Distro[] = [
  alpine,
  wolfi,
  chainguard,
  debian,
  ubuntu,
  almalinux,
  rocky,
  oracle,
  centos,
  centosStream,
  fedora,
  rhel,
  amazon,
  opensuseLeap,
  opensuseTumbleweed,
  sles,
  sleMicro,
  azurelinux,
  mariner,
  photon,
];

/** The version order of each OS package format. */
export const OS_PACKAGE_SCHEME: Record<OsPackageType, SchemeName> = { apk: 'apk', deb: 'dpkg', rpm: 'rpm' };

export function isOsPackageType(type: string): type is OsPackageType {
  return Object.hasOwn(OS_PACKAGE_SCHEME, type);
}

/**
 * A lookup table without Object's prototype: a crafted purl type such as `constructor` finds
 * nothing instead of an inherited function.
 */
function table<T>(entries: Array<readonly [string, T]>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, Object.fromEntries(entries));
}

const byPurl = new Map(ECOSYSTEMS.filter((e) => e.purlType).map((e) => [e.purlType!, e]));
const byOsv = new Map(ECOSYSTEMS.map((e) => [e.osv, e]));
const distroById = new Map(DISTROS.map((d) => [d.id, d]));

export function ecosystemOfPurlType(type: string): Ecosystem | undefined {
  return byPurl.get(type);
}

export function distroOf(id: string): Distro | undefined {
  return distroById.get(id);
}

/** Which OSV ecosystem a language package's purl type belongs to (matched ecosystems only). */
export const ECOSYSTEM_OF_PURL: Record<string, string> = table(
  ECOSYSTEMS.filter((e) => e.purlType && e.scheme).map((e) => [e.purlType!, e.osv] as const),
);

/** purl types whose code is compiled into binaries (see Ecosystem.staticallyLinked). */
export const STATICALLY_LINKED = new Set(
  ECOSYSTEMS.filter((e) => e.purlType && e.staticallyLinked).map((e) => e.purlType!),
);

/** The version order of each ecosystem OSV or another feed names (the part before any `:`). */
export const SCHEME_OF_ECOSYSTEM: Record<string, SchemeName> = table([
  ...DISTROS.flatMap((d) =>
    d.feed
      ? [d.feed.ecosystem, ...(d.feed.formerNames ?? [])].map(
          (n) => [n, OS_PACKAGE_SCHEME[d.packageType]] as const,
        )
      : [],
  ),
  ...ECOSYSTEMS.filter((e) => e.scheme).map((e) => [e.osv, e.scheme!] as const),
]);

/** The version order of each purl type with installed packages. */
export const SCHEME_OF_PURL_TYPE: Record<string, SchemeName> = table([
  ...Object.entries(OS_PACKAGE_SCHEME),
  ...ECOSYSTEMS.filter((e) => e.purlType && e.scheme).map((e) => [e.purlType!, e.scheme!] as const),
]);

/** The ecosystems OSV publishes, fetched by `db update` when OSV's own list cannot be read. */
export const OSV_ECOSYSTEMS: string[] = [
  ...new Set([
    ...DISTROS.filter((d) => d.feed?.osv).map((d) => d.feed!.ecosystem),
    ...ECOSYSTEMS.filter((e) => e.osvFeed).map((e) => e.osv),
  ]),
];

/** `Alpine:v3.16` → Alpine, v3.16; `Debian:12` → Debian, 12; `PyPI` → PyPI, ''. */
export function splitEcosystem(ecosystem: string): { base: string; release: string } {
  const i = ecosystem.indexOf(':');
  return i < 0
    ? { base: ecosystem, release: '' }
    : { base: ecosystem.slice(0, i), release: ecosystem.slice(i + 1) };
}

/** Package name as each ecosystem compares names (PEP 503 for PyPI, case-insensitive NuGet…). */
export function normalizePackageName(ecosystem: string, name: string): string {
  const normalize = byOsv.get(ecosystem.split(':')[0])?.normalizeName;
  return normalize ? normalize(name) : name;
}

/** purl namespace of an rpm package on this distribution (rhel → redhat; unknown: the ID). */
export function rpmNamespace(id: string): string {
  return distroById.get(id)?.namespace ?? id;
}

/** Red Hat family release files, in the order they are tried: [path, os-release ID]. */
export const RELEASE_FILES: Array<[string, string]> = DISTROS.filter((d) => d.releaseFile?.path).map((d) => [
  d.releaseFile!.path!,
  d.id,
]);

/** IDs whose os-release version is refined from their release file. */
export const REFINED_BY_RELEASE_FILE = new Set(
  DISTROS.filter((d) => d.refinedByReleaseFile).map((d) => d.id),
);

/** Product names release files start with, longest first ("centos stream" before "centos"). */
const RELEASE_NAMES = DISTROS.filter((d) => d.releaseFile)
  .map((d) => [d.releaseFile!.name, d.id] as const)
  .sort((a, b) => b[0].length - a[0].length);

/** `CentOS Stream` → centos-stream, `Rocky Linux` → rocky; undefined for an unknown product. */
export function distroOfReleaseName(name: string): string | undefined {
  const lower = name.toLowerCase();
  return RELEASE_NAMES.find(([n]) => lower.startsWith(n))?.[1];
}

export interface EolInfo {
  date: string;
  endOfLife: boolean;
}

/** The key a release is listed under in its distro's end-of-life table. */
export function eolKey(d: Distro, version: string): string {
  return d.eolKeys ? d.eolKeys(version)[0] : version.split('.')[0];
}

export function endOfLife(id: string, version: string, now = new Date()): EolInfo | undefined {
  const d = distroById.get(id);
  if (!d?.eol) return undefined;
  const keys = d.eolKeys ? d.eolKeys(version) : [version.split('.')[0]];
  const key = keys.find((k) => Object.hasOwn(d.eol!, k));
  if (key === undefined) return undefined;
  const date = d.eol[key];
  return { date, endOfLife: new Date(`${date}T23:59:59Z`) < now };
}
