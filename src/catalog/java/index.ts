import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PackageURL } from 'packageurl-js';
import type { MemoryBudget } from '../../image/limits.js';
import type { ProbeFactory } from '../../image/probe.js';
import { probeCataloger } from '../files.js';
import {
  defaultArchiveLimits,
  JAVA_ARCHIVE,
  readJavaArchive,
  readJavaArchiveFile,
  type ArchiveLimits,
  type JavaArtifact,
} from './archive.js';

/** Largest archive read. */
const MAX_ARCHIVE = 1024 ** 3;
/** Archives this large or larger are spooled to a temporary file and read from there, not held. */
export const SPOOL_ARCHIVE_BYTES = 32 * 1024 ** 2;

let spoolDir: string | undefined;
let spooled = 0;
/** A private folder for this process's spooled archives, removed when the process exits. */
function spoolFile(): string {
  if (!spoolDir) {
    spoolDir = mkdtempSync(join(tmpdir(), 'customs-jar-'));
    const dir = spoolDir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return join(spoolDir, `${process.pid}-${++spooled}.zip`);
}

interface ProbeResult {
  artifacts: JavaArtifact[];
  warnings: string[];
}

/** Every archive of the scan draws on one inflate allowance, so many jars cannot add up. */
function drawing(
  budget: MemoryBudget | undefined,
  read: (limits: ArchiveLimits) => ProbeResult & { bytesRead: number },
): ProbeResult {
  if (!budget) return read(defaultArchiveLimits);
  const maxBytes = Math.min(defaultArchiveLimits.maxBytes, budget.archiveBytesLeft);
  const r = read({ ...defaultArchiveLimits, maxBytes });
  budget.archiveBytesLeft -= r.bytesRead;
  return { artifacts: r.artifacts, warnings: r.warnings };
}

/**
 * Java archives are zips (central directory at the end), so each one is gathered as it streams
 * past and read when its last byte arrives: only its artifact list is kept. A small one is gathered
 * in one buffer of its size; one of SPOOL_ARCHIVE_BYTES or more is written to a temporary file and
 * read from there by random access (directory, then the entries wanted), so a 500 MB jar costs
 * disk, not memory. The nesting path starts from the file's name; the cataloger puts the folder in
 * front.
 */
export const javaArchiveProbe: ProbeFactory = {
  name: 'java-archive',
  wants: (path, _mode, size) => JAVA_ARCHIVE.test(path) && size > 0 && size <= MAX_ARCHIVE,
  create(_path, budget, size) {
    if (size !== undefined && size >= SPOOL_ARCHIVE_BYTES) {
      const file = spoolFile();
      let fd: number | undefined = openSync(file, 'w', 0o600);
      let failed: string | undefined;
      return {
        push(chunk: Buffer) {
          if (fd === undefined) return;
          try {
            for (let at = 0; at < chunk.length;) at += writeSync(fd, chunk, at);
          } catch (err) {
            failed = (err as Error).message;
            closeSync(fd);
            fd = undefined;
            unlinkSync(file);
          }
        },
        abort() {
          if (fd !== undefined) closeSync(fd);
          fd = undefined;
          rmSync(file, { force: true });
        },
        finish(): ProbeResult {
          if (fd === undefined)
            return {
              artifacts: [],
              warnings: [`: not read (spooling it to a temporary file failed: ${failed})`],
            };
          closeSync(fd);
          fd = undefined;
          try {
            return drawing(budget, (limits) => readJavaArchiveFile(file, '', limits));
          } finally {
            rmSync(file, { force: true });
          }
        },
      };
    }
    // One buffer of the declared size, filled in place (a chunk list joined at the end held it twice).
    let data = Buffer.allocUnsafe(size ?? 0);
    let at = 0;
    return {
      push(chunk: Buffer) {
        if (at + chunk.length > data.length) {
          const grown = Buffer.allocUnsafe(Math.max(at + chunk.length, data.length * 2));
          data.copy(grown, 0, 0, at);
          data = grown;
        }
        chunk.copy(data, at);
        at += chunk.length;
      },
      finish(): ProbeResult {
        const whole = data.subarray(0, at);
        data = Buffer.alloc(0);
        return drawing(budget, (limits) => readJavaArchive(whole, '', limits));
      },
    };
  },
};

export function mavenPurl(a: { groupId?: string; artifactId: string; version: string }): string {
  // Maven purls need a namespace; a jar that names no group (no pom.properties, a bare manifest)
  // still gets one without it rather than aborting the scan (packageurl-js throws there).
  if (!a.groupId) return `pkg:maven/${encodeURIComponent(a.artifactId)}@${encodeURIComponent(a.version)}`;
  return new PackageURL(
    'maven',
    a.groupId || undefined,
    a.artifactId,
    a.version,
    undefined,
    undefined,
  ).toString();
}

export const javaArchiveCataloger = probeCataloger<ProbeResult>({
  name: 'java-archive',
  probe: javaArchiveProbe,
  packages(r, where, ctx) {
    // Nesting paths start at the outer file: `/opt/app.war!/WEB-INF/lib/x.jar`.
    for (const w of r.warnings) ctx.warnings.push(`${where.path}${w}`);
    for (const a of r.artifacts)
      if (!a.groupId)
        ctx.warnings.push(
          `${where.path}${a.nestPath}: no Maven group id (no pom.properties); named ${a.artifactId} ${a.version} from the file`,
        );
    return r.artifacts.map((a) => ({
      // Maven advisories name packages groupId:artifactId.
      name: a.groupId ? `${a.groupId}:${a.artifactId}` : a.artifactId,
      version: a.version,
      type: 'maven',
      licenses: [],
      purl: mavenPurl(a),
      foundBy: `java-archive (${a.evidence})`,
      locations: [{ path: `${where.path}${a.nestPath}`, layer: where.layer }],
      layer: where.layer,
    }));
  },
});
