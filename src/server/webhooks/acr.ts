import { secretHeaderMatches } from './secret-header.js';
import { checked, MalformedEvent, obj, str, type WebhookReceiver } from './types.js';

/** Azure Container Registry push events; ACR cannot sign, so a custom Authorization header carries the secret. */
export const acr: WebhookReceiver = {
  name: 'acr',
  auth: 'secret',
  verify: secretHeaderMatches,
  events(body) {
    const b = obj(body);
    const target = obj(b?.target);
    const host = str(obj(b?.request)?.host);
    if (!b || !target || !host)
      throw new MalformedEvent('expected an ACR event with target and request.host');
    if (b.action !== 'push') return [];
    const repository = str(target.repository);
    if (!repository) throw new MalformedEvent('an event without target.repository');
    return [checked({ registry: host, repository, digest: str(target.digest), tag: str(target.tag) })];
  },
};
