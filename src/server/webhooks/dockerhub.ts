import { same } from './secret-header.js';
import { checked, MalformedEvent, obj, str, type WebhookReceiver } from './types.js';

/**
 * Docker Hub repository webhooks carry no signature and no digest: the secret travels in the
 * URL the admin registers (`/webhooks/dockerhub?secret=…`), and the worker resolves the tag.
 */
export const dockerhub: WebhookReceiver = {
  name: 'dockerhub',
  auth: 'secret',
  verify(req, secret) {
    const s = req.query.secret;
    return typeof s === 'string' && same(s, secret);
  },
  events(body) {
    const b = obj(body);
    const repo = str(obj(b?.repository)?.repo_name);
    const tag = str(obj(b?.push_data)?.tag);
    if (!b || !repo || !tag) throw new MalformedEvent('expected repository.repo_name and push_data.tag');
    const repository = repo.includes('/') ? repo : `library/${repo}`;
    return [checked({ registry: 'docker.io', repository, tag })];
  },
};
