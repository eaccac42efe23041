import { createHash, sign, type KeyObject } from 'node:crypto';
import { RegistryClient } from '../../src/image/registry/client.js';
import {
  COSIGN_ARTIFACT,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING,
  simpleSigningPayload,
} from '../../src/gate/cosign.js';

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';

const client = (host: string) => new RegistryClient(host, { insecure: true, dockerConfig: '/nonexistent' });

/**
 * Push an OCI 1.1 referrer of `digest`: an artifact manifest with one layer, listed in the
 * referrers fallback index under the tag `sha256-<hex>` (kept: earlier referrers stay listed), as
 * clients do for registries without the referrers API (Distribution 2.8).
 */
export async function pushReferrer(
  host: string,
  repository: string,
  digest: string,
  artifactType: string,
  layer: { mediaType: string; content: Buffer; annotations?: Record<string, string> },
  config: { mediaType: string; content: Buffer } = {
    mediaType: 'application/vnd.oci.empty.v1+json',
    content: Buffer.from('{}'),
  },
): Promise<void> {
  const c = client(host);
  try {
    for (const b of [layer.content, config.content])
      await c.pushBlob(repository, digestOf(b), b.length, () => b);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST,
        artifactType,
        config: {
          mediaType: config.mediaType,
          digest: digestOf(config.content),
          size: config.content.length,
        },
        layers: [
          {
            mediaType: layer.mediaType,
            digest: digestOf(layer.content),
            size: layer.content.length,
            ...(layer.annotations ? { annotations: layer.annotations } : {}),
          },
        ],
        subject: { mediaType: MANIFEST, digest, size: 0 },
      }),
    );
    const md = await c.putManifest(repository, digestOf(manifest), manifest, MANIFEST);
    const tag = digest.replace(':', '-');
    const old = await c.tryManifest(repository, tag);
    const listed = old
      ? ((JSON.parse(old.body.toString('utf8')) as { manifests?: object[] }).manifests ?? [])
      : [];
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: INDEX,
        manifests: [...listed, { mediaType: MANIFEST, digest: md, size: manifest.length, artifactType }],
      }),
    );
    await c.putManifest(repository, tag, index, INDEX);
  } finally {
    await c.close();
  }
}

/**
 * Sign an image as `cosign sign --key` does and push the signature: a manifest whose one layer is
 * the simple-signing payload, with the signature in its annotation, under `sha256-<hex>.sig` (or,
 * `asReferrer`, as an OCI 1.1 referrer). `payloadDigest` signs another digest (a copied
 * signature); `tamper` alters the payload after signing.
 */
export async function cosignSign(
  host: string,
  repository: string,
  digest: string,
  key: KeyObject,
  o: { payloadDigest?: string; tamper?: boolean; asReferrer?: boolean } = {},
): Promise<void> {
  let payload = simpleSigningPayload(`${host}/${repository}`, o.payloadDigest ?? digest);
  const alg = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  const signature = sign(alg, payload, key).toString('base64');
  if (o.tamper)
    payload = Buffer.from(payload.toString('utf8').replace('"optional":null', '"optional":{"x":"y"}'));
  const layer = {
    mediaType: SIMPLE_SIGNING,
    content: payload,
    annotations: { [SIGNATURE_ANNOTATION]: signature },
  };
  const config = { mediaType: 'application/vnd.oci.image.config.v1+json', content: Buffer.from('{}') };
  if (o.asReferrer) return pushReferrer(host, repository, digest, COSIGN_ARTIFACT, layer, config);
  const c = client(host);
  try {
    for (const b of [payload, config.content]) await c.pushBlob(repository, digestOf(b), b.length, () => b);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST,
        config: {
          mediaType: config.mediaType,
          digest: digestOf(config.content),
          size: config.content.length,
        },
        layers: [
          {
            mediaType: SIMPLE_SIGNING,
            digest: digestOf(payload),
            size: payload.length,
            annotations: layer.annotations,
          },
        ],
      }),
    );
    await c.putManifest(repository, `${digest.replace(':', '-')}.sig`, manifest, MANIFEST);
  } finally {
    await c.close();
  }
}
