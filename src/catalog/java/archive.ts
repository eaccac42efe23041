import { unzipSync, type UnzipFileInfo } from 'fflate';
import { ZipFile } from './zip-file.js';

/**
 * What a Java archive (jar, war, ear, Jenkins plugin…) holds, found without extracting anything to
 * disk: every `META-INF/maven/** /pom.properties` (shaded jars hold several), the manifest, and the
 * archives nested inside it (WEB-INF/lib, BOOT-INF/lib, an ear's wars), read from memory to any
 * depth within bounds.
 */

export interface JavaArtifact {
  groupId?: string;
  artifactId: string;
  version: string;
  /** `app.ear!/web.war!/WEB-INF/lib/log4j-core-2.14.1.jar`: where it sits, from the outer file. */
  nestPath: string;
  /** How it was identified. */
  evidence: 'pom.properties' | 'manifest' | 'file name';
  licenses?: string[];
}

export interface ArchiveLimits {
  /** Archives inside archives, counting the outer one. */
  maxDepth: number;
  /** Bytes decompressed for one outer archive, all nesting levels together. */
  maxBytes: number;
}

export const defaultArchiveLimits: ArchiveLimits = { maxDepth: 8, maxBytes: 512 * 1024 ** 2 };

/**
 * What an archive read from memory may inflate, its nested archives together: fflate holds all it
 * inflates at once, so this bounds the memory one archive costs. An archive read from a spooled
 * file (readJavaArchiveFile) opens its nested archives one at a time, each under this bound.
 */
export const MAX_IN_MEMORY_INFLATE = 256 * 1024 ** 2;

/** Largest central directory read from a spooled archive (about 300,000 entries of usual names). */
const MAX_DIRECTORY = 32 * 1024 ** 2;

export const JAVA_ARCHIVE = /\.(jar|war|ear|jpi|hpi|par|sar|nar|kar)$/i;

/** Parse `key=value` lines of a .properties file (comments, `:` separators, escapes of the common kind). */
export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('!')) continue;
    const m = /^((?:\\.|[^=:\s])+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m) out[m[1].replace(/\\(.)/g, '$1')] = m[2].replace(/\\(.)/g, '$1');
  }
  return out;
}

/** MANIFEST.MF main section: `Key: value` with 72-byte continuation lines starting with a space. */
export function parseManifest(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let key: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') {
      if (Object.keys(out).length) break; // end of the main section
      continue;
    }
    if (line.startsWith(' ') && key) {
      out[key] += line.slice(1);
      continue;
    }
    const i = line.indexOf(':');
    if (i <= 0) continue;
    key = line.slice(0, i).trim();
    out[key] = line.slice(i + 1).trim();
  }
  return out;
}

/** `log4j-core-2.14.1.jar` → log4j-core, 2.14.1 (the version starts at the first `-digit`). */
export function nameFromFile(file: string): { artifactId: string; version?: string } {
  const base = file.replace(/^.*\//, '').replace(JAVA_ARCHIVE, '');
  const m = /^(.+?)-(\d[\w.+-]*)$/.exec(base);
  return m ? { artifactId: m[1], version: m[2] } : { artifactId: base };
}

interface Budget {
  bytes: number;
  warnings: string[];
}

/**
 * Every artifact in an archive. `name` is the outer file's path (for nesting paths); damaged or
 * over-limit parts become warnings and what could be read is kept.
 */
export function readJavaArchive(
  data: Uint8Array,
  name: string,
  limits: ArchiveLimits = defaultArchiveLimits,
): { artifacts: JavaArtifact[]; warnings: string[]; bytesRead: number } {
  const budget: Budget = { bytes: limits.maxBytes, warnings: [] };
  const artifacts: JavaArtifact[] = [];
  walkBounded(data, name, 1, limits, budget, artifacts);
  return { artifacts, warnings: budget.warnings, bytesRead: limits.maxBytes - budget.bytes };
}

/**
 * readJavaArchive for an archive in a file (spooled to disk as it streamed past): read by random
 * access, its own entries first, then each nested archive in memory, one at a time.
 */
export function readJavaArchiveFile(
  path: string,
  name: string,
  limits: ArchiveLimits = defaultArchiveLimits,
): { artifacts: JavaArtifact[]; warnings: string[]; bytesRead: number } {
  const budget: Budget = { bytes: limits.maxBytes, warnings: [] };
  const out: JavaArtifact[] = [];
  let zip: ZipFile;
  try {
    zip = ZipFile.open(path, MAX_DIRECTORY);
  } catch (err) {
    budget.warnings.push(`${name}: not a readable zip archive (${(err as Error).message})`);
    return { artifacts: out, warnings: budget.warnings, bytesRead: 0 };
  }
  try {
    const nested: string[] = [];
    const byName = new Map(zip.entries.map((e) => [e.name, e]));
    const files: Record<string, Uint8Array> = {};
    for (const e of zip.entries) {
      if (!admit(e.name, Math.max(e.size, e.compressedSize), name, 1, limits, budget, nested)) continue;
      if (nested.at(-1) === e.name) continue;
      try {
        files[e.name] = zip.read(e);
      } catch (err) {
        budget.warnings.push(`${name}!/${e.name}: not readable (${(err as Error).message})`);
      }
    }
    identify(files, name, out);
    for (const n of [...new Set(nested)].sort()) {
      let data: Uint8Array;
      try {
        data = zip.read(byName.get(n)!);
      } catch (err) {
        budget.warnings.push(`${name}!/${n}: not readable (${(err as Error).message})`);
        continue;
      }
      // Its bytes were charged when admitted; what it inflates is charged as it goes.
      walkBounded(data, `${name}!/${n}`, 2, limits, budget, out);
    }
  } finally {
    zip.close();
  }
  return { artifacts: out, warnings: budget.warnings, bytesRead: limits.maxBytes - budget.bytes };
}

/** walk, holding at most MAX_IN_MEMORY_INFLATE of what it inflates; charged to `budget` after. */
function walkBounded(
  data: Uint8Array,
  nestPath: string,
  depth: number,
  limits: ArchiveLimits,
  budget: Budget,
  out: JavaArtifact[],
): void {
  const start = Math.min(budget.bytes, MAX_IN_MEMORY_INFLATE);
  const inner: Budget = { bytes: start, warnings: budget.warnings };
  walk(
    data,
    nestPath,
    depth,
    { ...limits, maxBytes: Math.min(limits.maxBytes, MAX_IN_MEMORY_INFLATE) },
    inner,
    out,
  );
  budget.bytes -= start - inner.bytes;
}

/**
 * Whether to read an entry: pom.properties, the manifest and nested archives, each charged to the
 * budget (skipped with a warning past it); nested archives within the depth are added to `nested`.
 */
function admit(
  name: string,
  bytes: number,
  nestPath: string,
  depth: number,
  limits: ArchiveLimits,
  budget: Budget,
  nested: string[],
): boolean {
  const wanted =
    isPomProperties(name) ||
    name === 'META-INF/MANIFEST.MF' ||
    (JAVA_ARCHIVE.test(name) && !name.endsWith('/'));
  if (!wanted) return false;
  if (bytes > budget.bytes) {
    budget.warnings.push(
      `${nestPath}!/${name}: skipped, past the ${limits.maxBytes}-byte bound for nested archives`,
    );
    return false;
  }
  budget.bytes -= bytes;
  if (JAVA_ARCHIVE.test(name)) {
    if (depth >= limits.maxDepth) {
      budget.warnings.push(`${nestPath}!/${name}: not opened, archives nest deeper than ${limits.maxDepth}`);
      return false;
    }
    nested.push(name);
  }
  return true;
}

const isPomProperties = (n: string) => /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/.test(n);

function walk(
  data: Uint8Array,
  nestPath: string,
  depth: number,
  limits: ArchiveLimits,
  budget: Budget,
  out: JavaArtifact[],
): void {
  let files: Record<string, Uint8Array>;
  const nested: string[] = [];
  try {
    files = unzipSync(data, {
      // What fflate hands back: the declared size when it inflates, the stored bytes when it
      // copies (a stored entry may declare 0 and span megabytes, and many may overlap).
      filter: (f: UnzipFileInfo) =>
        admit(f.name, Math.max(f.originalSize, f.size), nestPath, depth, limits, budget, nested),
    });
  } catch (err) {
    budget.warnings.push(`${nestPath}: not a readable zip archive (${(err as Error).message})`);
    return;
  }
  identify(files, nestPath, out);
  for (const n of nested.sort()) walk(files[n], `${nestPath}!/${n}`, depth + 1, limits, budget, out);
}

/** The artifacts an archive's own entries name (pom.properties, else its manifest, else its file name). */
function identify(files: Record<string, Uint8Array>, nestPath: string, out: JavaArtifact[]): void {
  const text = (n: string) => Buffer.from(files[n]).toString('utf8');
  const found: JavaArtifact[] = [];
  for (const n of Object.keys(files).filter(isPomProperties).sort()) {
    const p = parseProperties(text(n));
    const [, , group, artifact] = n.split('/');
    const artifactId = p.artifactId || artifact;
    if (!p.version) continue;
    found.push({
      groupId: p.groupId || group,
      artifactId,
      version: p.version,
      nestPath,
      evidence: 'pom.properties',
    });
  }
  const fromName = nameFromFile(nestPath.replace(/^.*!\//, ''));
  // The archive's own identity: a pom.properties that matches its file name, else (when it
  // carries no pom.properties of its own) its manifest, else its file name.
  const own =
    found.find((a) => a.artifactId === fromName.artifactId) ?? (found.length === 1 ? found[0] : undefined);
  if (!own) {
    const mf = files['META-INF/MANIFEST.MF'] ? parseManifest(text('META-INF/MANIFEST.MF')) : {};
    const version = mf['Implementation-Version'] ?? mf['Bundle-Version'] ?? mf['Specification-Version'];
    const symbolic = mf['Bundle-SymbolicName']?.split(';')[0].trim();
    const title = mf['Implementation-Title'] ?? mf['Bundle-Name'];
    if (version && (symbolic || title) && found.length === 0) {
      const group =
        mf['Implementation-Vendor-Id'] ??
        (symbolic?.includes('.') ? symbolic.slice(0, symbolic.lastIndexOf('.')) : undefined);
      const artifactId = fromName.version
        ? fromName.artifactId
        : symbolic?.includes('.')
          ? symbolic.slice(symbolic.lastIndexOf('.') + 1)
          : (title ?? fromName.artifactId);
      found.push({ groupId: group, artifactId, version, nestPath, evidence: 'manifest' });
    } else if (fromName.version && found.length === 0) {
      found.push({
        artifactId: fromName.artifactId,
        version: fromName.version,
        nestPath,
        evidence: 'file name',
      });
    }
  }
  out.push(...found);
}
