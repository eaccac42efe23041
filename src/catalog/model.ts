import type { LayeredFileSystem } from '../image/filesystem.js';
import type { LayerInfo } from '../image/model.js';
import type { OsInfo } from './os-release.js';
import type { ProbeFactory } from '../image/probe.js';

export interface Location {
  /** Path of the file that listed the package (the package database, lockfile…). */
  path: string;
  layer?: LayerInfo;
}

export interface Package {
  name: string;
  /** The version as the ecosystem compares it: apk `1.2-r3`, deb `[epoch:]upstream-rev`, rpm `[epoch:]version-release`. */
  version: string;
  /** purl type: apk, deb, rpm, … */
  type: string;
  arch?: string;
  /** rpm only: the parts of the version. */
  epoch?: number;
  release?: string;
  /** Source package (what distro advisories key on) and its version. */
  source?: { name: string; version?: string };
  licenses: string[];
  purl: string;
  maintainer?: string;
  vendor?: string;
  size?: number;
  description?: string;
  /** Which cataloger found it. */
  foundBy: string;
  locations: Location[];
  /** The layer that brought this package in. */
  layer?: LayerInfo;
  /** Files the package installed, when its database lists them. */
  files?: string[];
  /** For a language package whose files an OS package installed: that OS package's purl. */
  ownedBy?: string;
  /**
   * A Go module (or stdlib) read from a binary: the functions of its packages the binary holds,
   * as `package.Symbol` (src/catalog/go-symbols.ts). Reachability checks advisories against them;
   * reports leave them out.
   */
  symbols?: string[];
}

export interface CatalogContext {
  fs: LayeredFileSystem;
  os?: OsInfo;
  warnings: string[];
}

/** One per ecosystem. Layers stream past; only files `wants` accepts are kept for `catalog`. */
export interface Cataloger {
  name: string;
  wants(path: string): boolean;
  /**
   * Its files are databases parsed in place as bytes (no decoded text, no object per byte), so
   * they may be up to Limits.maxDatabaseBytes rather than the text limit (maxFileBytes).
   */
  database?: boolean;
  /** Probes that read files as they stream past (large binaries), instead of keeping them. */
  probes?: ProbeFactory[];
  catalog(ctx: CatalogContext): Promise<Package[]>;
}
