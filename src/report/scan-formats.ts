import type { ScanResult } from '../model/scan.js';
import { toCycloneDxWithVulnerabilities } from './cyclonedx-vex.js';
import { toGitlab } from './gitlab.js';
import { toHtml } from './html.js';
import { toJunit } from './junit.js';
import { toMarkdown } from './markdown.js';
import { toSarif } from './sarif.js';
import { scanJson } from './scan-json.js';
import { toSpdxWithAdvisories } from './scan-spdx.js';
import { scanTable } from './scan-table.js';
import type { ScanFormat } from './scan-format-names.js';

const json = (o: object) => JSON.stringify(o, null, 2) + '\n';

/**
 * One entry per output format of `customs image`; adding a format is one module, its name in
 * scan-format-names.ts and one line here (docs/design.md, "A report format").
 */
export const scanFormats: Record<ScanFormat, (r: ScanResult, tty: boolean) => string> & {
  [name: string]: (r: ScanResult, tty: boolean) => string;
} = {
  table: (r, tty) => scanTable(r, tty),
  json: (r) => scanJson(r),
  sarif: (r) => json(toSarif(r)),
  cyclonedx: (r) => json(toCycloneDxWithVulnerabilities(r)),
  spdx: (r) => json(toSpdxWithAdvisories(r)),
  markdown: (r) => toMarkdown(r),
  html: (r) => toHtml(r),
  junit: (r) => toJunit(r),
  gitlab: (r) => json(toGitlab(r)),
};
