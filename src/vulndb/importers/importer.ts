import type { StoreWriter } from '../store.js';

/** What one importer did with the files it claimed. */
export interface ImportCounts {
  records: number;
  skipped: number;
  warnings: string[];
}

/** A parsed input file: its name and its content as JSON/YAML data or text. */
export interface ParsedFile {
  name: string;
  data?: unknown;
  text?: string;
  /** One part of a document read in parts (see Importer.streamable): startDocument ran already. */
  part?: boolean;
}

/**
 * One importer per upstream feed format. `claims` looks at a parsed file (decided from its
 * shape, not its name, so mirrors may rename files); `import` stores it.
 */
export interface Importer {
  /** Source name as `db status` shows it. */
  name: string;
  claims(file: ParsedFile): boolean;
  import(file: ParsedFile, w: StoreWriter, counts: ImportCounts): void;
  /** Source name for a claimed file, when one importer feeds several (osv:PyPI, osv:Go…). */
  sourceOf?(file: ParsedFile): string;
  /**
   * A document too large to parse whole may be given in parts (batches of its top-level
   * entries), each to `import`, after one `startDocument`. Only importers whose format is one
   * entry per package say so.
   */
  streamable?: boolean;
  startDocument?(w: StoreWriter): void;
}

export function newCounts(): ImportCounts {
  return { records: 0, skipped: 0, warnings: [] };
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
