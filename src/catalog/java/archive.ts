import { unzipSync, type UnzipFileInfo } from 'fflate';

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
  walk(data, name, 1, limits, budget, artifacts);
  return { artifacts, warnings: budget.warnings, bytesRead: limits.maxBytes - budget.bytes };
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
      filter: (f: UnzipFileInfo) => {
        const wanted =
          isPomProperties(f.name) ||
          f.name === 'META-INF/MANIFEST.MF' ||
          (JAVA_ARCHIVE.test(f.name) && !f.name.endsWith('/'));
        if (!wanted) return false;
        // What fflate hands back: the declared size when it inflates, the stored bytes when it
        // copies (a stored entry may declare 0 and span megabytes, and many may overlap).
        const bytes = Math.max(f.originalSize, f.size);
        if (bytes > budget.bytes) {
          budget.warnings.push(
            `${nestPath}!/${f.name}: skipped, past the ${limits.maxBytes}-byte bound for nested archives`,
          );
          return false;
        }
        budget.bytes -= bytes;
        if (JAVA_ARCHIVE.test(f.name)) {
          if (depth >= limits.maxDepth) {
            budget.warnings.push(
              `${nestPath}!/${f.name}: not opened, archives nest deeper than ${limits.maxDepth}`,
            );
            return false;
          }
          nested.push(f.name);
        }
        return true;
      },
    });
  } catch (err) {
    budget.warnings.push(`${nestPath}: not a readable zip archive (${(err as Error).message})`);
    return;
  }
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
  for (const n of nested.sort()) walk(files[n], `${nestPath}!/${n}`, depth + 1, limits, budget, out);
}
