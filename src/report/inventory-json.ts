import type { SbomInput } from '../sbom/model.js';

/** Customs' own JSON: the image, the OS and the packages as the catalogers found them. */
export function inventoryJson(input: SbomInput): object {
  return {
    tool: input.tool,
    image: input.image,
    os: input.inventory.os ?? null,
    packages: input.inventory.packages.map(({ files: _files, symbols: _symbols, ...p }) => p),
    warnings: [...input.image.warnings, ...input.inventory.warnings],
  };
}
