import { reportId, reportTime } from '../report-time.js';
import type { Package } from '../catalog/model.js';
import { isCompoundExpression, licenseRef, spdxId } from './licenses.js';
import { cleanStep, type SbomInput } from './model.js';

function spdxRef(prefix: string, text: string, used: Set<string>): string {
  const base = `SPDXRef-${prefix}-${text.replace(/[^A-Za-z0-9.-]+/g, '-')}`.slice(0, 200);
  let id = base;
  for (let i = 2; used.has(id); i++) id = `${base}-${i}`;
  used.add(id);
  return id;
}

/** A declared-licence expression from the package's licence list; names off the SPDX list become LicenseRefs. */
function declared(pkg: Package, extracted: Map<string, string>): string {
  if (pkg.licenses.length === 0) return 'NOASSERTION';
  const keepRefs = (expr: string) => {
    // LicenseRefs a package itself declares (Fedora does) must be listed in the document too.
    for (const ref of expr.match(/LicenseRef-[A-Za-z0-9.-]+/g) ?? [])
      extracted.set(ref, ref.slice('LicenseRef-'.length));
    return expr;
  };
  if (pkg.licenses.length === 1 && isCompoundExpression(pkg.licenses[0])) return keepRefs(pkg.licenses[0]);
  const parts = pkg.licenses.map((l) => {
    const id = spdxId(l);
    if (id) return id;
    if (/^LicenseRef-[A-Za-z0-9.-]+$/.test(l)) return keepRefs(l);
    const ref = licenseRef(l);
    extracted.set(ref, l);
    return ref;
  });
  return [...new Set(parts)].join(' AND ');
}

function supplier(pkg: Package): string {
  const who = pkg.vendor ?? pkg.maintainer;
  if (!who) return 'NOASSERTION';
  // "Person:" for "Name <mail>", "Organization:" otherwise (SPDX 2.3 §7.5).
  return /<[^>]+@[^>]+>/.test(who) ? `Person: ${who}` : `Organization: ${who}`;
}

/** SPDX 2.3 JSON: the image package DESCRIBED by the document, CONTAINS the OS and every package. */
export function toSpdx(input: SbomInput): object {
  const { image, inventory } = input;
  const used = new Set<string>();
  const extracted = new Map<string, string>();
  const imageId = spdxRef('Image', image.name, used);
  const packages: object[] = [];
  const relationships: object[] = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId },
  ];
  const digest = image.manifestDigest ?? image.configDigest;
  packages.push({
    name: image.name,
    SPDXID: imageId,
    ...(digest ? { versionInfo: digest } : {}),
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'CONTAINER',
    ...(digest?.startsWith('sha256:')
      ? { checksums: [{ algorithm: 'SHA256', checksumValue: digest.slice(7) }] }
      : {}),
    comment: `${image.kind} ${image.target}; ${image.os ?? '?'}/${image.architecture ?? '?'}; layers: ${image.layers.map((l) => l.diffId ?? l.digest ?? '?').join(', ')}`,
  });
  if (inventory.os) {
    const osId = spdxRef('OperatingSystem', `${inventory.os.id}-${inventory.os.version}`, used);
    packages.push({
      name: inventory.os.id,
      SPDXID: osId,
      versionInfo: inventory.os.version,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose: 'OPERATING_SYSTEM',
      ...(inventory.os.prettyName ? { description: inventory.os.prettyName } : {}),
      ...(inventory.os.eol ? { validUntilDate: `${inventory.os.eol.date}T00:00:00Z` } : {}),
    });
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: osId });
  }
  for (const pkg of inventory.packages) {
    const id = spdxRef(
      'Package',
      `${pkg.type}-${pkg.name}-${pkg.version}${pkg.arch ? `-${pkg.arch}` : ''}`,
      used,
    );
    const where = pkg.locations.map((l) => l.path).join(', ');
    const layer = pkg.layer
      ? `; layer ${pkg.layer.index + 1} ${pkg.layer.diffId ?? pkg.layer.digest ?? ''}${pkg.layer.createdBy ? ` (${cleanStep(pkg.layer.createdBy)})` : ''}`
      : '';
    packages.push({
      name: pkg.name,
      SPDXID: id,
      versionInfo: pkg.version,
      supplier: supplier(pkg),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      ...(pkg.source
        ? {
            sourceInfo: `${pkg.foundBy} database ${where}${layer}; source package ${pkg.source.name}${pkg.source.version ? ` ${pkg.source.version}` : ''}`,
          }
        : { sourceInfo: `${pkg.foundBy} database ${where}${layer}` }),
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: declared(pkg, extracted),
      copyrightText: 'NOASSERTION',
      ...(pkg.description ? { summary: pkg.description } : {}),
      externalRefs: [
        { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: pkg.purl },
      ],
      primaryPackagePurpose: 'LIBRARY',
    });
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: id });
  }
  const created = (input.created ?? reportTime()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: image.name,
    documentNamespace: `https://customs.invalid/spdx/${encodeURIComponent(image.name)}-${reportId(`spdx:${image.name}:${image.manifestDigest ?? image.configDigest ?? ''}`)}`,
    creationInfo: { created, creators: [`Tool: ${input.tool.name}-${input.tool.version}`] },
    packages,
    relationships,
    ...(extracted.size
      ? {
          hasExtractedLicensingInfos: [...extracted].map(([licenseId, name]) => ({
            licenseId,
            name,
            extractedText: `The package declares the licence "${name}", which is not on the SPDX licence list.`,
          })),
        }
      : {}),
  };
}
