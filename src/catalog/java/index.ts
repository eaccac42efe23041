import { PackageURL } from 'packageurl-js';
import type { ProbeFactory } from '../../image/probe.js';
import type { CatalogContext, Cataloger, Package } from '../model.js';
import { JAVA_ARCHIVE, readJavaArchive, type JavaArtifact } from './archive.js';

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
  create() {
    const chunks: Buffer[] = [];
    return {
      push(chunk: Buffer) {
        chunks.push(chunk);
      },
      finish(): ProbeResult {
        const data = Buffer.concat(chunks);
        chunks.length = 0;
        // The nesting path starts from the file's name; the cataloger puts the folder in front.
        return readJavaArchive(data, '');
      },
    };
  },
};

export function mavenPurl(a: { groupId?: string; artifactId: string; version: string }): string {
  return new PackageURL(
    'maven',
    a.groupId || undefined,
    a.artifactId,
    a.version,
    undefined,
    undefined,
  ).toString();
}

export const javaArchiveCataloger: Cataloger = {
  name: 'java-archive',
  wants: () => false,
  probes: [javaArchiveProbe],
  async catalog(ctx: CatalogContext): Promise<Package[]> {
    const out: Package[] = [];
    for (const [path, entry, layerIndex] of ctx.fs.walk()) {
      const r = entry.probes?.['java-archive'] as ProbeResult | undefined;
      if (!r) continue;
      const layer = ctx.fs.layers[layerIndex]?.info;
      const full = (nest: string) => `/${path}${nest}`;
      for (const w of r.warnings) ctx.warnings.push(full(w));
      for (const a of r.artifacts) {
        out.push({
          // Maven advisories name packages groupId:artifactId.
          name: a.groupId ? `${a.groupId}:${a.artifactId}` : a.artifactId,
          version: a.version,
          type: 'maven',
          licenses: [],
          purl: mavenPurl(a),
          foundBy: `java-archive (${a.evidence})`,
          locations: [{ path: full(a.nestPath), layer }],
          layer,
        });
      }
    }
    return out;
  },
};
