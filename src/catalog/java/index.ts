import { PackageURL } from 'packageurl-js';
import type { ProbeFactory } from '../../image/probe.js';
import { probeCataloger } from '../files.js';
import { defaultArchiveLimits, JAVA_ARCHIVE, readJavaArchive, type JavaArtifact } from './archive.js';

/** Largest archive read (whole, in memory, one at a time). */
const MAX_ARCHIVE = 1024 ** 3;

interface ProbeResult {
  artifacts: JavaArtifact[];
  warnings: string[];
}

/**
 * Java archives are zips (central directory at the end), so each one is gathered as it streams
 * past, read from memory when its last byte arrives, and dropped: only its artifact list is kept,
 * so memory holds one archive at a time, never the image's jars together.
 */
export const javaArchiveProbe: ProbeFactory = {
  name: 'java-archive',
  wants: (path, _mode, size) => JAVA_ARCHIVE.test(path) && size > 0 && size <= MAX_ARCHIVE,
  create(_path, budget) {
    const chunks: Buffer[] = [];
    return {
      push(chunk: Buffer) {
        chunks.push(chunk);
      },
      finish(): ProbeResult {
        const data = Buffer.concat(chunks);
        chunks.length = 0;
        // The nesting path starts from the file's name; the cataloger puts the folder in front.
        // Every archive of the scan draws on one inflate allowance, so many jars cannot add up.
        if (!budget) return readJavaArchive(data, '');
        const maxBytes = Math.min(defaultArchiveLimits.maxBytes, budget.archiveBytesLeft);
        const r = readJavaArchive(data, '', { ...defaultArchiveLimits, maxBytes });
        budget.archiveBytesLeft -= r.bytesRead;
        return r;
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
