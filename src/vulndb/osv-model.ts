import type { OsvRange } from '../versions/ranges.js';

/**
 * The parts of an OSV record (https://ossf.github.io/osv-schema/) Customs stores and matches on.
 * The range vocabulary lives with the code that evaluates it (versions/ranges.ts, a floor below);
 * names are normalised per ecosystem record (ecosystems/index.ts).
 */
export type { OsvEvent, OsvRange } from '../versions/ranges.js';

export interface OsvSeverity {
  type: string;
  score: string;
}

export interface OsvAffected {
  package?: { ecosystem: string; name: string; purl?: string };
  ranges?: OsvRange[];
  versions?: string[];
  severity?: OsvSeverity[];
  ecosystem_specific?: Record<string, unknown>;
  database_specific?: Record<string, unknown>;
}

export interface OsvRecord {
  schema_version?: string;
  id: string;
  modified: string;
  published?: string;
  withdrawn?: string;
  aliases?: string[];
  related?: string[];
  summary?: string;
  details?: string;
  severity?: OsvSeverity[];
  affected?: OsvAffected[];
  references?: Array<{ type: string; url: string }>;
  database_specific?: Record<string, unknown>;
}
