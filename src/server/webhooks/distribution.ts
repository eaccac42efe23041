import { ARTIFACT_MANIFEST } from '../../image/registry/artifact.js';
import { checked, MalformedEvent, obj, str, type PushEvent, type WebhookReceiver } from './types.js';

const MANIFEST = /manifest|image\.index/;

/**
 * CNCF Distribution (docker-registry, and registries built on it) `notifications.endpoints`: an
 * envelope of events; manifest pushes are what we scan (layer and pull events are skipped). It
 * cannot sign, so the endpoint's `headers` carry a webhook token.
 */
export const distribution: WebhookReceiver = {
  name: 'distribution',
  auth: 'token',
  events(body) {
    const events = obj(body)?.events;
    if (!Array.isArray(events)) throw new MalformedEvent('expected {"events": [...]}');
    const out: PushEvent[] = [];
    for (const raw of events) {
      const e = obj(raw);
      const target = obj(e?.target);
      if (!e || !target) throw new MalformedEvent('an event without a target');
      const mediaType = str(target.mediaType) ?? '';
      // An artifact manifest is never an image (referrers and cosign tags are told apart later).
      if (e.action !== 'push' || !MANIFEST.test(mediaType) || mediaType === ARTIFACT_MANIFEST) continue;
      const url = str(target.url);
      let host = str(obj(e.request)?.host);
      if (url) {
        try {
          host = new URL(url).host;
        } catch {
          throw new MalformedEvent(`bad target url ${url}`);
        }
      }
      const repository = str(target.repository);
      if (!host || !repository) throw new MalformedEvent('an event without a registry host or repository');
      out.push(checked({ registry: host, repository, digest: str(target.digest), tag: str(target.tag) }));
    }
    return out;
  },
};
