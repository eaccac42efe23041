import { toCycloneDx } from '../sbom/cyclonedx.js';
import type { SbomInput } from '../sbom/model.js';
import { toSpdx } from '../sbom/spdx.js';
import { inventoryJson } from './inventory-json.js';
import { inventoryTable } from './table.js';

/** One entry per output format of `customs sbom`; adding a format is one line here. */
export const sbomFormats: Record<string, (input: SbomInput) => string> = {
  table: (i) => inventoryTable(i),
  json: (i) => JSON.stringify(inventoryJson(i), null, 2) + '\n',
  cyclonedx: (i) => JSON.stringify(toCycloneDx(i), null, 2) + '\n',
  'cyclonedx-json': (i) => JSON.stringify(toCycloneDx(i), null, 2) + '\n',
  spdx: (i) => JSON.stringify(toSpdx(i), null, 2) + '\n',
  'spdx-json': (i) => JSON.stringify(toSpdx(i), null, 2) + '\n',
};
