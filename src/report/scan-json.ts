import type { ScanResult } from '../model/scan.js';

/** The scan as JSON (schemaVersion 1, docs/scanning.md); package file lists are left out. */
export function scanJson(r: ScanResult): string {
  return (
    JSON.stringify(
      { ...r, packages: r.packages.map(({ files: _files, symbols: _symbols, ...p }) => p) },
      null,
      2,
    ) + '\n'
  );
}
