import { createHash, sign, type KeyObject } from 'node:crypto';
import { RegistryClient } from '../../src/image/registry/client.js';
import {
  COSIGN_ARTIFACT,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING,
  simpleSigningPayload,
} from '../../src/gate/cosign.js';

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * Sign an image as `cosign sign --key` does and push the signature: a manifest whose one layer is
 * the simple-signing payload, with the signature in its annotation, under `sha256-<hex>.sig` (or,
 * `asReferrer`, as an OCI 1.1 referrer listed in the fallback index tag `sha256-<hex>`).
 * `payloadDigest` signs another digest (a copied signature); `tamper` alters the payload after signing.
 */
export async function cosignSign(
  host: string,
  repository: string,
  digest: string,
  key: KeyObject,
  o: { payloadDigest?: string; tamper?: boolean; asReferrer?: boolean } = {},
): Promise<void> {
  const client = new RegistryClient(host, { insecure: true, dockerConfig: '/nonexistent' });
  try {
    let payload = simpleSigningPayload(`${host}/${repository}`, o.payloadDigest ?? digest);
    const alg = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
    const signature = sign(alg, payload, key).toString('base64');
    if (o.tamper)
      payload = Buffer.from(payload.toString('utf8').replace('"optional":null', '"optional":{"x":"y"}'));
    const config = Buffer.from('{}');
    for (const b of [payload, config]) await client.pushBlob(repository, digestOf(b), b.length, () => b);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...(o.asReferrer ? { artifactType: COSIGN_ARTIFACT } : {}),
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: digestOf(config),
          size: config.length,
        },
        layers: [
          {
            mediaType: SIMPLE_SIGNING,
            digest: digestOf(payload),
            size: payload.length,
            annotations: { [SIGNATURE_ANNOTATION]: signature },
          },
        ],
        ...(o.asReferrer
          ? { subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 0 } }
          : {}),
      }),
    );
    const mt = 'application/vnd.oci.image.manifest.v1+json';
    if (!o.asReferrer) {
      await client.putManifest(repository, `${digest.replace(':', '-')}.sig`, manifest, mt);
      return;
    }
    const md = await client.putManifest(repository, digestOf(manifest), manifest, mt);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [{ mediaType: mt, digest: md, size: manifest.length, artifactType: COSIGN_ARTIFACT }],
      }),
    );
    await client.putManifest(
      repository,
      digest.replace(':', '-'),
      index,
      'application/vnd.oci.image.index.v1+json',
    );
  } finally {
    await client.close();
  }
}
