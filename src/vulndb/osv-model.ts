/** The parts of an OSV record (https://ossf.github.io/osv-schema/) Customs stores and matches on. */
export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface OsvRange {
  type: 'ECOSYSTEM' | 'SEMVER' | 'GIT' | string;
  repo?: string;
  events: OsvEvent[];
}

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

/** Package name as each ecosystem compares names (PEP 503 for PyPI, case-insensitive NuGet…). */
export function normalizePackageName(ecosystem: string, name: string): string {
  const base = ecosystem.split(':')[0];
  switch (base) {
    case 'PyPI':
      return name.toLowerCase().replace(/[-_.]+/g, '-');
    case 'NuGet':
    case 'Packagist':
      return name.toLowerCase();
    case 'crates.io':
      return name.toLowerCase().replace(/_/g, '-');
    default:
      return name;
  }
}

/** `Alpine:v3.16` → Alpine, v3.16; `Debian:12` → Debian, 12; `PyPI` → PyPI, ''. */
export function splitEcosystem(ecosystem: string): { base: string; release: string } {
  const i = ecosystem.indexOf(':');
  return i < 0
    ? { base: ecosystem, release: '' }
    : { base: ecosystem.slice(0, i), release: ecosystem.slice(i + 1) };
}
