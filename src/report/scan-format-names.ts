/**
 * The names of `customs image`'s output formats, apart from their modules so that the command's
 * help lists them without loading every writer (scan-formats.ts maps each name to its writer; the
 * compiler says when a name has none).
 */
export const SCAN_FORMAT_NAMES = [
  'table',
  'json',
  'sarif',
  'cyclonedx',
  'spdx',
  'markdown',
  'html',
  'junit',
  'gitlab',
] as const;
export type ScanFormat = (typeof SCAN_FORMAT_NAMES)[number];
