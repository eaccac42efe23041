import { CustomsError } from '../../errors.js';

/** An image reference normalised the way `docker pull` does it. */
export interface ImageReference {
  /** Registry host as written (`docker.io` for Docker Hub), with port when given. */
  domain: string;
  /** Repository path, e.g. `library/alpine`. */
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
/** Docker Hub's API host: `docker.io` itself only redirects. */
const DOCKER_HUB_API = 'registry-1.docker.io';

// Grammar of github.com/distribution/reference (the rules docker uses), written out here.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;

/**
 * Parse `[domain[:port]/]path[:tag][@digest]`. The first component is a registry when it has a
 * dot or a colon, is `localhost`, or has capitals; otherwise the image is on Docker Hub, where a
 * one-component name lives under `library/`. No tag and no digest means `latest`.
 */
export function parseReference(input: string): ImageReference {
  const bad = (why: string) => new CustomsError(`invalid image reference "${input}": ${why}`);
  let rest = input.trim();
  if (!rest) throw bad('empty');
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`malformed digest "${digest}"`);
    if (digest.startsWith('sha256:') && !/^sha256:[a-f0-9]{64}$/.test(digest))
      throw bad('a sha256 digest has 64 lowercase hex digits');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`malformed tag "${tag}"`);
  }
  const slash = rest.indexOf('/');
  let domain = DOCKER_HUB;
  let path = rest;
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (!DOMAIN.test(domain)) throw bad(`malformed registry "${domain}"`);
  if (domain === 'index.docker.io') domain = DOCKER_HUB;
  if (path !== path.toLowerCase()) throw bad('repository name must be lowercase');
  const parts = path.split('/');
  if (!path || parts.some((p) => !PATH_COMPONENT.test(p))) throw bad(`malformed repository "${path}"`);
  if (domain === DOCKER_HUB && parts.length === 1) path = `library/${path}`;
  if (domain.length + path.length + 1 > 255) throw bad('longer than 255 characters');
  return { domain, repository: path, tag: tag ?? (digest ? undefined : 'latest'), digest };
}

/** Could this be a registry reference at all (used when the target is not a local path)? */
export function looksLikeReference(input: string): boolean {
  try {
    parseReference(input);
    return true;
  } catch {
    return false;
  }
}

/** `docker.io/library/alpine:3.19`, `ghcr.io/org/app@sha256:…`: the fully qualified form. */
export function formatReference(ref: ImageReference): string {
  return `${ref.domain}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The host the Distribution API answers on. */
export function apiHost(domain: string): string {
  return domain === DOCKER_HUB ? DOCKER_HUB_API : domain;
}

/** What the manifest endpoint is asked for: the digest when there is one, else the tag. */
export function manifestRef(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}
