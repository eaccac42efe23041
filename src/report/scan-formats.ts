import type { ScanResult } from '../scan/model.js';
import { toSarif } from './sarif.js';
import { scanJson } from './scan-json.js';
import { scanTable } from './scan-table.js';

/** One entry per output format of `customs image`; adding a format is one line here. */
export const scanFormats: Record<string, (r: ScanResult, tty: boolean) => string> = {
  table: (r, tty) => scanTable(r, tty),
  json: (r) => scanJson(r),
  sarif: (r) => JSON.stringify(toSarif(r), null, 2) + '\n',
};
