import type { Inventory } from '../catalog/index.js';
import type { Package } from '../catalog/model.js';
import type { OpenedImage } from '../image/model.js';
import type { SbomComparison } from '../image/attestations.js';
import { sbomDocument } from './read.js';

/** type/name@version, lower-cased: how packages from two tools are compared. */
const key = (p: Package) => `${p.type}/${p.name}@${p.version}`.toLowerCase();

export function compareInventories(attested: Package[], ours: Package[]): SbomComparison {
  const a = new Set(attested.map(key));
  const o = new Set(ours.map(key));
  return {
    attested: a.size,
    common: [...a].filter((k) => o.has(k)).length,
    onlyAttested: [...a].filter((k) => !o.has(k)).sort(),
    onlyCustoms: [...o].filter((k) => !a.has(k)).sort(),
  };
}

/** The inventory an image's (first) SBOM attestation describes, for --use-attested-sbom. */
export function attestedInventory(image: OpenedImage): Inventory | undefined {
  const first = image.attestedSboms?.[0];
  if (!first?.sbom) return undefined;
  const { inventory } = sbomDocument(
    first.sbom,
    `${image.metadata.target} (SBOM attestation ${first.attestation.digest})`,
  );
  return {
    ...inventory,
    warnings: [
      ...inventory.warnings,
      `inventory taken from the image's ${first.attestation.sbomFormat} SBOM attestation (--use-attested-sbom); its layers were not read`,
    ],
  };
}

/** Put the comparison of each attested SBOM with Customs' own inventory on its attestation. */
export function compareAttested(image: OpenedImage, inventory: Inventory): void {
  for (const a of image.attestedSboms ?? []) {
    if (!a.sbom) continue;
    const theirs = sbomDocument(a.sbom, a.attestation.digest).inventory.packages;
    a.attestation.comparison = compareInventories(theirs, inventory.packages);
  }
}
