import { secretHeaderMatches } from './secret-header.js';
import {
  checked,
  MalformedEvent,
  obj,
  splitRef,
  str,
  type PushEvent,
  type WebhookReceiver,
} from './types.js';

/**
 * Harbor's webhook policy (HTTP notify type, JSON payload): PUSH_ARTIFACT events, authenticated
 * by the policy's "Auth Header", sent verbatim as `Authorization`.
 */
export const harbor: WebhookReceiver = {
  name: 'harbor',
  auth: 'secret',
  verify: secretHeaderMatches,
  events(body) {
    const b = obj(body);
    const data = obj(b?.event_data);
    if (!b || !data || !Array.isArray(data.resources))
      throw new MalformedEvent('expected a Harbor event with event_data.resources');
    if (b.type !== 'PUSH_ARTIFACT' && b.type !== 'pushImage') return [];
    const out: PushEvent[] = [];
    for (const raw of data.resources) {
      const r = obj(raw);
      const url = str(r?.resource_url);
      if (!r || !url) throw new MalformedEvent('a resource without resource_url');
      const ref = splitRef(url);
      out.push(checked({ ...ref, digest: str(r.digest), tag: str(r.tag) ?? ref.tag }));
    }
    return out;
  },
};
