import { createHmac, timingSafeEqual } from 'node:crypto';
import { checked, MalformedEvent, obj, splitRef, str, type WebhookReceiver } from './types.js';

/**
 * GitHub Packages `registry_package` (and `package`) events for containers on ghcr.io, signed
 * with HMAC-SHA256 of the raw body in `X-Hub-Signature-256`.
 */
export const github: WebhookReceiver = {
  name: 'github',
  auth: 'secret',
  verify(req, secret) {
    const sig = req.headers['x-hub-signature-256'];
    if (typeof sig !== 'string' || !sig.startsWith('sha256=')) return false;
    const want = createHmac('sha256', secret).update(req.body).digest();
    const got = Buffer.from(sig.slice(7), 'hex');
    return got.length === want.length && timingSafeEqual(got, want);
  },
  events(body) {
    const b = obj(body);
    const pkg = obj(b?.registry_package) ?? obj(b?.package);
    if (!b || !pkg) throw new MalformedEvent('expected a registry_package or package event');
    if (!['published', 'updated'].includes(str(b.action) ?? '')) return [];
    const type = (str(pkg.package_type) ?? str(pkg.ecosystem) ?? '').toLowerCase();
    if (!['container', 'docker'].includes(type)) return [];
    const version = obj(pkg.package_version);
    const tag = obj(obj(version?.container_metadata)?.tag);
    const url = str(version?.package_url);
    const digest =
      str(tag?.digest) ?? (str(version?.version)?.startsWith('sha256:') ? str(version?.version) : undefined);
    const ref = url
      ? splitRef(url)
      : {
          registry: 'ghcr.io',
          repository: `${str(pkg.namespace) ?? ''}/${str(pkg.name) ?? ''}`.toLowerCase(),
        };
    return [
      checked({
        registry: ref.registry,
        repository: ref.repository.toLowerCase(),
        digest,
        tag: str(tag?.name) ?? ('tag' in ref ? ref.tag : undefined),
      }),
    ];
  },
};
