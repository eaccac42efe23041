import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A JSON document or bytes as a blob of an OCI layout (blobs/sha256 must exist): its descriptor. */
export function putBlob(root: string, o: object | Buffer): { digest: string; size: number } {
  const b = Buffer.isBuffer(o) ? o : Buffer.from(JSON.stringify(o));
  const d = 'sha256:' + createHash('sha256').update(b).digest('hex');
  writeFileSync(join(root, 'blobs/sha256', d.slice(7)), b);
  return { digest: d, size: b.length };
}

/**
 * The documents of an OCI layout whose gzip layer blobs are already in blobs/sha256: the config,
 * the manifest, oci-layout and index.json (with `ref` as the ref name when given).
 */
export function writeLayoutDocs(
  root: string,
  config: object,
  layers: Array<{ digest: string; size: number }>,
  ref?: string,
): void {
  const cfg = putBlob(root, config);
  const m = putBlob(root, {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg },
    layers: layers.map((l) => ({
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: l.digest,
      size: l.size,
    })),
  });
  writeFileSync(join(root, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(root, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...m,
          ...(ref ? { annotations: { 'org.opencontainers.image.ref.name': ref } } : {}),
        },
      ],
    }),
  );
}
