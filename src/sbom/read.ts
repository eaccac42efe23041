import { PackageURL } from 'packageurl-js';
import type { Inventory } from '../catalog/index.js';
import type { Package } from '../catalog/model.js';
import type { OsInfo } from '../catalog/os-release.js';
import { endOfLife } from '../distro/eol.js';
import { CustomsError } from '../errors.js';
import type { ImageMetadata } from '../image/model.js';
import { readUserFile } from '../user-file.js';

interface CdxComponent {
  type?: string;
  name?: string;
  version?: string;
  purl?: string;
  properties?: Array<{ name: string; value: string }>;
  licenses?: Array<{ license?: { id?: string; name?: string }; expression?: string }>;
  components?: CdxComponent[];
}

/** Properties that peers use for a package's source (Customs, Trivy). */
const SOURCE_NAME_PROPS = ['customs:package:sourceName', 'aquasecurity:trivy:SrcName'];
const SOURCE_VERSION_PROPS = ['customs:package:sourceVersion', 'aquasecurity:trivy:SrcVersion'];

function fromPurl(
  purl: string,
  props: Array<{ name: string; value: string }>,
  where: string,
): Package | undefined {
  let p: PackageURL;
  try {
    p = PackageURL.fromString(purl);
  } catch {
    return undefined;
  }
  if (!p.version) return undefined;
  const q = (p.qualifiers ?? {}) as Record<string, string>;
  const prop = (names: string[]) => props.find((x) => names.includes(x.name))?.value;
  // upstream= is "name" or "name@version" (syft writes both forms).
  const upstream = q.upstream ? /^([^@]+?)(?:@(.+))?$/.exec(q.upstream) : null;
  let sourceName = prop(SOURCE_NAME_PROPS) ?? (p.type === 'rpm' ? undefined : upstream?.[1]);
  let sourceVersion = prop(SOURCE_VERSION_PROPS) ?? upstream?.[2];
  if (p.type === 'rpm' && q.upstream) {
    const m = /^(.+)-([^-]+)-([^-]+)\.(?:no)?src\.rpm$/.exec(q.upstream);
    if (m) {
      sourceName ??= m[1];
      sourceVersion ??= `${q.epoch ? `${q.epoch}:` : ''}${m[2]}-${m[3]}`;
    }
  }
  const version =
    p.type === 'rpm' && q.epoch && !p.version.includes(':') ? `${q.epoch}:${p.version}` : p.version;
  return {
    name: p.namespace && !['apk', 'deb', 'rpm'].includes(p.type) ? `${p.namespace}/${p.name}` : p.name,
    version,
    type: p.type,
    arch: q.arch,
    epoch: q.epoch ? Number(q.epoch) : undefined,
    source: sourceName ? { name: sourceName, version: sourceVersion ?? version } : undefined,
    licenses: [],
    purl,
    foundBy: 'sbom',
    locations: [{ path: where }],
  };
}

/** The OS from the purls' distro qualifier: alpine `3.11.5`, deb `debian-12`, rpm `amzn-2023`. */
function osFromPurls(packages: Package[]): OsInfo | undefined {
  for (const p of packages) {
    let q: Record<string, string> = {};
    try {
      q = (PackageURL.fromString(p.purl).qualifiers ?? {}) as Record<string, string>;
    } catch {
      continue;
    }
    if (!q.distro) continue;
    const ns = PackageURL.fromString(p.purl).namespace ?? '';
    const m = /^([a-z][a-z-]*?)-(\d[\w.]*)$/.exec(q.distro);
    const id = m ? m[1] : ns === 'alpine' || p.type === 'apk' ? ns || 'alpine' : ns;
    const version = m ? m[2] : q.distro;
    return { id, version, idLike: [], source: 'purl distro qualifier' };
  }
  return undefined;
}

function walk(list: CdxComponent[] | undefined, out: CdxComponent[]): CdxComponent[] {
  for (const c of list ?? []) {
    out.push(c);
    walk(c.components, out);
  }
  return out;
}

/** Read a CycloneDX or SPDX JSON SBOM back into an inventory to scan. */
export function readSbom(path: string): { image: ImageMetadata; inventory: Inventory } {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(readUserFile(path));
  } catch (err) {
    throw new CustomsError(`not a JSON SBOM (${(err as Error).message})`, path);
  }
  return sbomDocument(doc, path);
}

/** A parsed CycloneDX or SPDX JSON document (a file, or an image's SBOM attestation) as an inventory. */
export function sbomDocument(
  doc: Record<string, unknown>,
  path: string,
): { image: ImageMetadata; inventory: Inventory } {
  const packages: Package[] = [];
  let os: OsInfo | undefined;
  let name = path;
  if (doc.bomFormat === 'CycloneDX') {
    const meta = doc.metadata as { component?: CdxComponent } | undefined;
    if (meta?.component?.name) name = meta.component.name;
    for (const c of walk(doc.components as CdxComponent[], [])) {
      if (c.type === 'operating-system' && c.name && c.version) {
        os = { id: c.name.toLowerCase(), version: c.version, idLike: [], source: 'sbom' };
        continue;
      }
      const p = c.purl ? fromPurl(c.purl, c.properties ?? [], path) : undefined;
      if (p) packages.push(p);
    }
  } else if (typeof doc.spdxVersion === 'string') {
    name = typeof doc.name === 'string' ? doc.name : path;
    for (const sp of (doc.packages as Array<{
      name?: string;
      versionInfo?: string;
      primaryPackagePurpose?: string;
      externalRefs?: Array<{ referenceType?: string; referenceLocator?: string }>;
    }>) ?? []) {
      if (sp.primaryPackagePurpose === 'OPERATING_SYSTEM' && sp.name && sp.versionInfo) {
        os = { id: sp.name.toLowerCase(), version: sp.versionInfo, idLike: [], source: 'sbom' };
        continue;
      }
      const purl = sp.externalRefs?.find((e) => e.referenceType === 'purl')?.referenceLocator;
      const p = purl ? fromPurl(purl, [], path) : undefined;
      if (p) packages.push(p);
    }
  } else {
    throw new CustomsError('neither CycloneDX nor SPDX JSON', path);
  }
  os ??= osFromPurls(packages);
  if (os) os.eol = endOfLife(os.id, os.version);
  const image: ImageMetadata = {
    target: path,
    kind: 'sbom',
    name,
    repoTags: [],
    labels: {},
    history: [],
    layers: [],
    warnings: [],
  };
  return {
    image,
    inventory: { os, packages, warnings: packages.length ? [] : ['the SBOM lists no packages with purls'] },
  };
}
