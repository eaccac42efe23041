// The scan result and its parts: the shared types every room above the scanner reads (reports,
// policies, the store, the server), kept here so that nothing imports upward for a type.
import type { Package } from '../catalog/model.js';
import type { OsInfo } from '../catalog/os-release.js';
import type { ImageMetadata, LayerInfo } from '../image/model.js';
import type { SecretCoverage, SecretFinding } from './secrets.js';
import type { CvssScore, Severity, SeverityLevel } from './severity.js';

export type FindingStatus = 'fixed' | 'affected' | 'will_not_fix' | 'end_of_life';
export type Exposure = 'internet' | 'internal';
export type Environment = 'production' | 'staging' | 'dev';

export interface RiskFactor {
  name: string;
  /** Points added (or, for context, the multiplier applied). */
  value: number;
  detail: string;
}

export interface Finding {
  /**
   * `malicious`: the package itself is malware (an OpenSSF `MAL-` report): always critical, never
   * "fixed in" (remove it), first in every report. Absent for an ordinary vulnerability.
   */
  kind?: 'malicious';
  /** The CVE when there is one (the MAL- id for a malicious package), else the advisory id. */
  id: string;
  aliases: string[];
  package: {
    name: string;
    version: string;
    type: string;
    purl: string;
    source?: { name: string; version?: string };
    path?: string;
    layer?: LayerInfo;
  };
  status: FindingStatus;
  /** The lowest version above the installed one that fixes this (per the feed's branches). */
  fixedVersion?: string;
  severity: Severity;
  cvss: CvssScore[];
  kev?: { dateAdded?: string; dueDate?: string; ransomware?: string; name?: string };
  epss?: { score: number; percentile: number; date?: string };
  title?: string;
  description?: string;
  /** When the earliest matched advisory was published. */
  published?: string;
  references: string[];
  /** Advisories that said so: osv:GHSA-…, alpine-secdb:CVE-…, debian-tracker:CVE-…. */
  dataSources: string[];
  risk: { score: number; factors: RiskFactor[] };
  /** A VEX statement that annotates without suppressing (affected, under_investigation). */
  vex?: { status: string; detail?: string; source: string };
}

export interface SuppressedFinding extends Finding {
  suppression: {
    /** reachability: a Go advisory's vulnerable functions are not in the binary. */
    by: 'ignore-file' | 'vex' | 'exception' | 'reachability';
    reason: string;
    source: string;
    status?: string;
    justification?: string;
  };
}

export interface ScanSummary {
  total: number;
  bySeverity: Record<SeverityLevel, number>;
  fixable: number;
  kev: number;
  /** Packages reported as malware (findings of kind `malicious`). */
  malicious?: number;
  grade: 'A' | 'B' | 'C' | 'D' | 'E' | 'F';
  gradeReason: string;
}

/** The vulnerability database a scan was matched against, and how fresh it is. */
export interface DatabaseInfo {
  path: string;
  /** The database version (its build time, also in builtAt). */
  version?: string;
  builtAt?: string;
  /** Where this copy came from: `registry/repo@sha256:…`, a file, or feeds built locally. */
  origin?: string;
  ageDays?: number;
  /** Older than --db-max-age (7 days by default), or its signature expired. */
  stale?: boolean;
  /** When the signature of a pulled database expires; `expired`: it has (a frozen repository). */
  expires?: string;
  expired?: boolean;
  sources?: Array<{ name: string; records: number; updatedAt?: string; status: string; error?: string }>;
  /** Said in every output format: a database over 30 days old, or a source whose last update failed. */
  notice?: string;
}

/**
 * Whether the database could find anything in one part of an image: `covered`; `no-data` (no
 * advisories for this OS release or ecosystem); `stale` (older than --db-max-age); `failed-source`
 * (the last update of a feed behind it failed).
 */
export type CoverageStatus = 'covered' | 'no-data' | 'stale' | 'failed-source';

export interface CoverageEntry {
  kind: 'os' | 'ecosystem';
  /** `alpine 3.16.9`, `npm`, `binaries (NVD CPE ranges)`. */
  name: string;
  packages: number;
  status: CoverageStatus;
  /** The database sources holding its advisories. */
  sources: string[];
  detail: string;
}

/** The coverage of a scan by its database: the OS release and each package ecosystem (docs/scanning.md). */
export interface Coverage {
  /** Every part covered: only then does "0 findings" mean none. */
  complete: boolean;
  os?: CoverageEntry;
  ecosystems: CoverageEntry[];
}

export interface ScanResult {
  /** Version of this JSON document's shape (docs/scan-json.md). */
  schemaVersion: 1;
  tool: { name: string; version: string };
  createdAt: string;
  image: ImageMetadata;
  os?: OsInfo;
  context: { exposure: Exposure; env: Environment };
  database: DatabaseInfo;
  packages: Package[];
  findings: Finding[];
  /** Findings an exception or a VEX statement suppressed, with the reason. */
  suppressed: SuppressedFinding[];
  summary: ScanSummary;
  /** What the database covers of the image (present when vulnerabilities were matched). */
  coverage?: Coverage;
  /** Secrets in the image's layers (deleted files included), config and history (`--scanners secret`). */
  secrets?: SecretFinding[];
  /** Files the secret search passed over (over --secret-max-file-size, binary): a clean result does not cover them. */
  secretCoverage?: SecretCoverage;
  /** Image configuration checks (`--scanners config`). */
  misconfigurations?: ConfigFinding[];
  /** Whether a trusted key signed the image (when checked: `policy check` with a signed-by rule, the server). */
  signature?: { trusted: boolean; reason: string };
  warnings: string[];
}

/** One image-configuration check that failed. */
export interface ConfigFinding {
  rule: string;
  severity: SeverityLevel;
  title: string;
  message: string;
  fix: string;
}

/** What a scan looks for: vulnerabilities, secrets, image-configuration checks. */
export type Scanner = 'vuln' | 'secret' | 'config';
export const SCANNERS: Scanner[] = ['vuln', 'secret', 'config'];
