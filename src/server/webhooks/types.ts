/** One image a registry says was pushed. */
import type { PushEvent } from '../../services/ingest.js';

export type { PushEvent };

/** Headers, query and raw body: all a receiver may use to prove who sent the request. */
export interface RawRequest {
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, string | undefined>;
}

/**
 * One registry's notification format. `auth: 'token'` receivers are authenticated by an API
 * token with the webhook permission (the registry has no signing); `auth: 'secret'` receivers by
 * the webhook secret configured for the registry the event names.
 */
export interface WebhookReceiver {
  name: string;
  auth: 'token' | 'secret';
  /** The push events in a parsed body; throws MalformedEvent when the body is not this format. */
  events(body: unknown): PushEvent[];
  verify?(req: RawRequest, secret: string): boolean;
}

export class MalformedEvent extends Error {}

export const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
export const obj = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const REPO = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const HOST = /^[a-z0-9.-]+(?::\d{1,5})?$/i;

/** An event is queued only when every part is well-formed: nothing from a payload reaches a URL unchecked. */
export function checked(e: PushEvent): PushEvent {
  if (!HOST.test(e.registry)) throw new MalformedEvent(`bad registry host "${e.registry}"`);
  if (!REPO.test(e.repository) || e.repository.length > 255)
    throw new MalformedEvent(`bad repository "${e.repository}"`);
  if (e.digest && !DIGEST.test(e.digest)) throw new MalformedEvent(`bad digest "${e.digest}"`);
  if (e.tag && !TAG.test(e.tag)) throw new MalformedEvent(`bad tag "${e.tag}"`);
  if (!e.digest && !e.tag) throw new MalformedEvent('an event names neither a digest nor a tag');
  return { ...e, registry: e.registry.toLowerCase() };
}

/** `host/path/name:tag` (Harbor's resource_url, GitHub's package_url) → its parts. */
export function splitRef(ref: string): { registry: string; repository: string; tag?: string } {
  const at = ref.split('@')[0];
  const slash = at.indexOf('/');
  if (slash < 0) throw new MalformedEvent(`not an image reference: ${ref}`);
  const registry = at.slice(0, slash);
  const rest = at.slice(slash + 1);
  const colon = rest.lastIndexOf(':');
  return colon > 0
    ? { registry, repository: rest.slice(0, colon), tag: rest.slice(colon + 1) }
    : { registry, repository: rest };
}
