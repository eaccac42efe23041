import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request, type Dispatcher } from 'undici';
import { CustomsError } from '../../errors.js';
import { VERSION } from '../../version.js';
import { parseChallenges, pickChallenge, type Challenge } from './challenge.js';
import { credentialsFor, type Credentials } from './credentials.js';
import { apiHost } from './reference.js';

/**
 * An OCI Distribution client on undici (no maintained JavaScript library does the token flow,
 * resumable blobs and docker's credential rules together). It reads images, and pushes the
 * database artifact (`customs db publish`).
 */

export interface RegistryOptions {
  /** Plain HTTP and unverified TLS allowed (opt-in, like docker's insecure-registries). */
  insecure?: boolean;
  /** Idle-read timeout: a connection silent this long fails (default 30 s). */
  timeoutMs?: number;
  /** Attempts after the first on 429, 5xx and broken connections (default 4). */
  retries?: number;
  /** Explicit credentials (--username/--password-stdin, CUSTOMS_REGISTRY_TOKEN); else config.json. */
  credentials?: Credentials;
  /** docker config.json to read (default $DOCKER_CONFIG/config.json or ~/.docker/config.json). */
  dockerConfig?: string;
  /** First backoff delay in ms (doubles each retry); tests shorten it. */
  backoffMs?: number;
}

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  // Asked for only so that such a manifest can be refused with a clear message.
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
];

const MAX_MANIFEST = 4 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const MAX_RETRY_AFTER_MS = 120_000;

export interface Response {
  status: number;
  /** Where the answer came from (after redirects). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

interface Req {
  /** A path on the registry, or an absolute URL on it (an upload's Location). */
  path: string;
  accept?: string[];
  range?: number;
  method?: Method;
  contentType?: string;
  /** A request body, made anew for each attempt (a stream cannot be sent twice). */
  body?: () => { data: Buffer | Readable; length: number };
  /** Aborts the request and its body (a download's total deadline). */
  signal?: AbortSignal;
}

/** Bounds of one blob download beyond the idle timeout. */
export interface BlobBounds {
  /** The descriptor's size: a byte more ends the download at once. */
  size?: number;
  /** The whole download, retries included, must end within this many milliseconds. */
  deadlineMs?: number;
}

const header = (h: Response['headers'], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

const TLS_CODES =
  /^(ERR_SSL|ERR_TLS|EPROTO|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_|UNABLE_TO_GET_ISSUER_CERT)/;

function errCode(err: unknown): string {
  let e = err as { code?: string; cause?: unknown } | undefined;
  for (let i = 0; e && i < 4; i++) {
    if (e.code && e.code !== 'UND_ERR_SOCKET') return e.code;
    e = e.cause as typeof e;
  }
  return (err as { code?: string })?.code ?? '';
}

/** Retry-After as milliseconds (seconds or an HTTP date). */
/**
 * The tags of one page of `/v2/NAME/tags/list`. What a registry sends is checked, not trusted: a
 * body that is not `{"tags": [...]}` is an error, and entries that cannot be tags (not strings, or
 * longer than the 128 characters the distribution spec allows) are dropped.
 */
export function tagListOf(body: Buffer): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new CustomsError(`the registry's tag list is not JSON (${(err as Error).message})`);
  }
  const tags = (doc as { tags?: unknown } | null)?.tags;
  if (tags === undefined || tags === null) return [];
  if (typeof doc !== 'object' || !Array.isArray(tags))
    throw new CustomsError('the registry\'s tag list is not {"tags": [...]}');
  return tags.filter((t): t is string => typeof t === 'string' && t.length > 0 && t.length <= 128);
}

export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

const STALL_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

export class RegistryClient {
  readonly host: string;
  private scheme: 'https' | 'http' | undefined;
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private creds: Credentials | undefined | null = null; // null: not looked up yet
  /** Authorization header per scope (repository), once a challenge has been answered. */
  private readonly auth = new Map<string, string>();

  constructor(
    readonly domain: string,
    private readonly opts: RegistryOptions = {},
  ) {
    this.host = apiHost(domain);
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.retries = opts.retries ?? 4;
    this.backoffMs = opts.backoffMs ?? 500;
    this.agent = new Agent({
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      connectTimeout: this.timeoutMs,
      connect: { rejectUnauthorized: !opts.insecure },
    });
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }

  private async credentials(): Promise<Credentials | undefined> {
    if (this.creds === null) {
      const env = process.env.CUSTOMS_REGISTRY_TOKEN;
      this.creds =
        this.opts.credentials ??
        (env ? { registryToken: env, source: 'CUSTOMS_REGISTRY_TOKEN' } : undefined) ??
        (await credentialsFor(this.domain, this.opts.dockerConfig));
    }
    return this.creds;
  }

  /** https, or with --insecure http when the registry does not speak TLS (as docker does). */
  private async base(): Promise<string> {
    if (!this.scheme) {
      this.scheme = 'https';
      if (this.opts.insecure) {
        try {
          const r = await this.raw(`https://${this.host}/v2/`, {}, 'GET');
          await r.body.dump();
        } catch (err) {
          if (TLS_CODES.test(errCode(err)) || errCode(err) === 'ECONNRESET') this.scheme = 'http';
        }
      }
    }
    return `${this.scheme}://${this.host}`;
  }

  private async raw(
    url: string,
    headers: Record<string, string>,
    method: Method,
    body?: Buffer | Readable,
    signal?: AbortSignal,
  ): Promise<Response> {
    const r = await request(url, {
      method,
      headers: { 'user-agent': `customs/${VERSION}`, ...headers },
      body,
      signal,
      dispatcher: this.agent as Dispatcher,
    });
    return { status: r.statusCode, url, headers: r.headers, body: r.body };
  }

  /** One request with redirects followed by hand: Authorization never leaves the registry's origin. */
  private async once(req: Req, authorization: string | undefined): Promise<Response> {
    const base = await this.base();
    let url = /^https?:\/\//.test(req.path) ? req.path : `${base}${req.path}`;
    const origin = new URL(base).origin;
    if (new URL(url).origin !== origin)
      throw new CustomsError(
        `${this.host}: refused to send a request to another host (${new URL(url).host})`,
      );
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = {};
      if (req.accept) headers.accept = req.accept.join(', ');
      if (req.range) headers.range = `bytes=${req.range}-`;
      if (authorization && new URL(url).origin === origin) headers.authorization = authorization;
      const body = req.body?.();
      if (body) {
        headers['content-length'] = String(body.length);
        headers['content-type'] = req.contentType ?? 'application/octet-stream';
      }
      const res = await this.raw(url, headers, req.method ?? 'GET', body?.data, req.signal);
      if (![301, 302, 303, 307, 308].includes(res.status)) return res;
      await res.body.dump();
      const loc = header(res.headers, 'location');
      if (!loc || hop >= MAX_REDIRECTS)
        throw new CustomsError(`${this.host}: too many redirects for ${req.path}`);
      url = new URL(loc, url).toString();
      if (url.startsWith('http:') && !this.opts.insecure && !origin.startsWith('http:'))
        throw new CustomsError(
          `${this.host}: redirected to plain HTTP (${new URL(url).host}); refused without --insecure`,
        );
    }
  }

  /** A request with authentication, retries and backoff. `scope` is the repository. */
  async fetch(scope: string, req: Req): Promise<Response> {
    const started = Date.now();
    let stalls = 0;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.authed(scope, req);
      } catch (err) {
        if (err instanceof CustomsError || req.signal?.aborted) throw err;
        // A registry that sent nothing for a whole --timeout is retried once, not --retries times:
        // four silent 30 s waits made a stalled registry take two minutes.
        const stalled = STALL_CODES.has(errCode(err));
        if (stalled) stalls++;
        if (attempt < this.retries && this.retriable(err) && stalls <= 1) {
          await sleep(this.backoff(attempt));
          continue;
        }
        throw this.networkError(err, stalls > 1 ? { stalls, ms: Date.now() - started } : undefined);
      }
      if (RETRY_STATUS.has(res.status) && attempt < this.retries) {
        const wait = retryAfterMs(header(res.headers, 'retry-after'));
        await res.body.dump();
        await sleep(Math.min(wait ?? this.backoff(attempt), MAX_RETRY_AFTER_MS));
        continue;
      }
      return res;
    }
  }

  /**
   * The whole read of a small document: four idle timeouts (a 4 MiB manifest at a modest 8 KiB/s
   * still fits the 2 minutes of the default 30 s --timeout).
   */
  private smallDeadline(): { ms: number; who: string } {
    return { ms: 4 * this.timeoutMs, who: `registry ${this.host}` };
  }

  private backoff(attempt: number): number {
    return this.backoffMs * 2 ** attempt * (0.75 + Math.random() / 2);
  }

  retriable(err: unknown): boolean {
    const code = errCode(err);
    return !TLS_CODES.test(code) && code !== 'ENOTFOUND' && code !== 'EAI_AGAIN';
  }

  networkError(err: unknown, waited?: { stalls: number; ms: number }): CustomsError {
    const code = errCode(err);
    const total = waited ? `; ${waited.stalls} attempts, ${Math.round(waited.ms / 1000)} s in all` : '';
    const what =
      code === 'UND_ERR_HEADERS_TIMEOUT' ||
      code === 'UND_ERR_BODY_TIMEOUT' ||
      code === 'UND_ERR_CONNECT_TIMEOUT'
        ? `sent nothing for ${this.timeoutMs / 1000} s (--timeout sets how long to wait${total})`
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'host not found (offline, or a typo in the registry name?)'
          : code === 'ECONNREFUSED'
            ? 'connection refused (is the registry running?)'
            : TLS_CODES.test(code)
              ? `TLS failed (${code}); a registry on plain HTTP or with a self-signed certificate needs --insecure`
              : `${(err as Error)?.message ?? String(err)}${code ? ` (${code})` : ''}`;
    return new CustomsError(`registry ${this.host}: ${what}`, undefined, { cause: err });
  }

  private async authed(scope: string, req: Req): Promise<Response> {
    const creds = await this.credentials();
    const preset = creds?.registryToken ? `Bearer ${creds.registryToken}` : this.auth.get(scope);
    const res = await this.once(req, preset);
    if (res.status !== 401) return res;
    const challenge = pickChallenge(parseChallenges(header(res.headers, 'www-authenticate')));
    await res.body.dump();
    if (!challenge)
      throw new CustomsError(`registry ${this.host} refused access (401) without saying how to authenticate`);
    const authorization = await this.answer(challenge, scope, creds);
    if (preset === authorization) throw this.denied(creds, scope);
    this.auth.set(scope, authorization);
    const again = await this.once(req, authorization);
    if (again.status === 401) {
      await again.body.dump();
      throw this.denied(creds, scope);
    }
    return again;
  }

  private denied(creds: Credentials | undefined, scope: string): CustomsError {
    return new CustomsError(
      creds
        ? `registry ${this.host}: authentication failed for ${scope} with the credentials from ${creds.source} (wrong user name or password, or no pull access)`
        : `registry ${this.host}: ${scope} needs credentials: run "docker login ${this.domain}", or pass --username and --password-stdin`,
    );
  }

  /** Answer a challenge: Basic directly, Bearer through the token service (RFC 6750 / distribution's token spec). */
  private async answer(challenge: Challenge, scope: string, creds: Credentials | undefined): Promise<string> {
    const basic =
      creds?.username !== undefined && creds.password !== undefined
        ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`
        : undefined;
    if (challenge.scheme === 'basic') {
      if (!basic) throw this.denied(undefined, scope);
      return basic;
    }
    const realm = challenge.params.realm;
    if (!realm) throw new CustomsError(`registry ${this.host}: its Bearer challenge names no realm`);
    const url = new URL(realm);
    if (
      url.protocol === 'http:' &&
      !this.opts.insecure &&
      !new URL(await this.base()).protocol.startsWith('http:')
    )
      throw new CustomsError(
        `registry ${this.host}: token service ${url.host} is plain HTTP; refused without --insecure`,
      );
    const service = challenge.params.service;
    const scopes = challenge.params.scope ? challenge.params.scope.split(' ') : [`repository:${scope}:pull`];
    if (!scopes.some((s) => s.startsWith(`repository:${scope}:`))) scopes.push(`repository:${scope}:pull`);
    let res: Response;
    try {
      if (creds?.identityToken) {
        // OAuth2 refresh-token grant, as docker does with an identity token.
        const form = new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: creds.identityToken,
          client_id: 'customs',
        });
        if (service) form.set('service', service);
        form.set('scope', scopes.join(' '));
        const r = await request(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'user-agent': `customs/${VERSION}`,
          },
          body: form.toString(),
          dispatcher: this.agent as Dispatcher,
        });
        res = { status: r.statusCode, url: url.toString(), headers: r.headers, body: r.body };
      } else {
        if (service) url.searchParams.set('service', service);
        for (const s of scopes) url.searchParams.append('scope', s);
        const r = await request(url, {
          headers: { 'user-agent': `customs/${VERSION}`, ...(basic ? { authorization: basic } : {}) },
          dispatcher: this.agent as Dispatcher,
        });
        res = { status: r.statusCode, url: url.toString(), headers: r.headers, body: r.body };
      }
    } catch (err) {
      throw new CustomsError(
        `token service ${url.host}: ${this.networkError(err).message.replace(/^registry \S+: /, '')}`,
      );
    }
    if (res.status === 401 || res.status === 403) {
      await res.body.dump();
      throw this.denied(creds, scope);
    }
    if (res.status !== 200) {
      await res.body.dump();
      throw new CustomsError(`token service ${url.host} answered ${res.status}`);
    }
    const text = await readCapped(res.body, 1024 * 1024, 'token response', {
      ms: 4 * this.timeoutMs,
      who: `token service ${url.host}`,
    });
    let token: string | undefined;
    try {
      const j = JSON.parse(text.toString('utf8')) as { token?: string; access_token?: string };
      token = j.token ?? j.access_token;
    } catch {
      /* reported below */
    }
    if (!token) throw new CustomsError(`token service ${url.host} answered without a token`);
    return `Bearer ${token}`;
  }

  /** Fetch a manifest or index by tag or digest; a digest reference is verified. */
  async manifest(
    repository: string,
    reference: string,
  ): Promise<{ body: Buffer; mediaType: string; digest: string }> {
    const res = await this.fetch(repository, {
      path: `/v2/${repository}/manifests/${reference}`,
      accept: MANIFEST_ACCEPT,
    });
    if (res.status === 404) {
      await res.body.dump();
      throw new CustomsError(`manifest unknown: ${this.domain} has no such repository, tag or digest`);
    }
    await this.expectOk(res, `manifest ${reference}`);
    const body = await readCapped(res.body, MAX_MANIFEST, 'manifest', this.smallDeadline());
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (reference.startsWith('sha256:') && reference !== digest)
      throw new CustomsError(
        `manifest ${reference} from ${this.host} does not match its digest (got ${digest})`,
      );
    let mediaType = (header(res.headers, 'content-type') ?? '').split(';')[0].trim();
    let parsed: { mediaType?: string; schemaVersion?: number } = {};
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      throw new CustomsError(`manifest ${reference} from ${this.host} is not valid JSON`);
    }
    if (parsed.schemaVersion === 1 || mediaType.startsWith('application/vnd.docker.distribution.manifest.v1'))
      throw new CustomsError(
        `${reference} has a Docker schema 1 manifest, deprecated and not supported; re-push the image with a current client`,
      );
    if (parsed.mediaType) mediaType = parsed.mediaType;
    return { body, mediaType, digest };
  }

  /** Like manifest(), but a missing one is undefined (referrers tags, optional documents). */
  async tryManifest(
    repository: string,
    reference: string,
  ): Promise<{ body: Buffer; mediaType: string; digest: string } | undefined> {
    try {
      return await this.manifest(repository, reference);
    } catch (err) {
      if (err instanceof CustomsError && err.message.startsWith('manifest unknown')) return undefined;
      throw err;
    }
  }

  /**
   * OCI 1.1 referrers of a manifest: the referrers API, else the fallback tag `sha256-HEX` that
   * registries without the API (Distribution 2.x) hold. An index, or undefined when there are none.
   */
  async referrers(repository: string, digest: string): Promise<Buffer | undefined> {
    return (await this.referrersIndex(repository, digest)).body;
  }

  /** As referrers(), and whether the registry answered through the API (else the fallback tag). */
  async referrersIndex(repository: string, digest: string): Promise<{ api: boolean; body?: Buffer }> {
    const res = await this.fetch(repository, {
      path: `/v2/${repository}/referrers/${digest}`,
      accept: ['application/vnd.oci.image.index.v1+json'],
    });
    if (res.status === 200)
      return {
        api: true,
        body: await readCapped(res.body, MAX_MANIFEST, 'referrers index', this.smallDeadline()),
      };
    await res.body.dump();
    return { api: false, body: (await this.tryManifest(repository, digest.replace(':', '-')))?.body };
  }

  /** The repository's tags (`/v2/NAME/tags/list`, following `Link` pages, at most `max`). */
  async tags(repository: string, max = 10_000): Promise<string[]> {
    const out: string[] = [];
    let path: string | undefined = `/v2/${repository}/tags/list?n=${Math.min(1000, max)}`;
    while (path && out.length < max) {
      const res = await this.fetch(repository, { path });
      await this.expectOk(res, 'tags list');
      out.push(...tagListOf(await readCapped(res.body, 8 * 1024 * 1024, 'tags list', this.smallDeadline())));
      const link = header(res.headers, 'link');
      path = link ? /<([^>]+)>/.exec(link)?.[1] : undefined;
    }
    return out.slice(0, max);
  }

  /** A small blob (an image config) read whole and verified. */
  async smallBlob(repository: string, digest: string, max = 16 * 1024 * 1024): Promise<Buffer> {
    const res = await this.fetch(repository, { path: `/v2/${repository}/blobs/${digest}` });
    await this.expectOk(res, `blob ${digest}`);
    const body = await readCapped(res.body, max, `blob ${digest}`, this.smallDeadline());
    verifyDigest(body, digest, this.host);
    return body;
  }

  /**
   * Stream a blob; a connection that breaks or stalls midway is resumed with a Range request
   * from the last byte received (a server that ignores Range has the received bytes skipped).
   * With `bounds`, a byte beyond the descriptor's size or the total deadline passing ends it at
   * once with a CustomsError naming the registry (a drip of a byte every few seconds never trips
   * the idle timeout; an endless body never ends on its own).
   */
  async *blob(repository: string, digest: string, bounds: BlobBounds = {}): AsyncGenerator<Buffer> {
    const deadline = bounds.deadlineMs ? AbortSignal.timeout(bounds.deadlineMs) : undefined;
    let offset = 0;
    let from = this.host;
    const late = () =>
      new CustomsError(
        `registry ${this.host}: blob ${digest} took longer than the deadline of ${bounds.deadlineMs! / 1000} s (${offset} bytes in${from !== this.host ? `, from ${from}` : ''}; --deadline sets it); refused`,
      );
    for (let attempt = 0; ;) {
      let res: Response;
      try {
        res = await this.fetch(repository, {
          path: `/v2/${repository}/blobs/${digest}`,
          range: offset || undefined,
          signal: deadline,
        });
      } catch (err) {
        if (deadline?.aborted) throw late();
        throw err;
      }
      from = new URL(res.url).host;
      await this.expectOk(res, `blob ${digest}`);
      const announced = Number(header(res.headers, 'content-length'));
      // A 200 to a Range request starts over from byte 0.
      const start = res.status === 206 ? offset : 0;
      if (bounds.size !== undefined && Number.isFinite(announced) && start + announced > bounds.size) {
        discard(res.body);
        throw this.oversized(digest, bounds.size, from, `Content-Length ${announced}`);
      }
      let skip = offset > 0 && res.status === 200 ? offset : 0;
      const before = offset;
      try {
        for await (const c of res.body as AsyncIterable<Buffer>) {
          let chunk = c;
          if (skip) {
            const n = Math.min(skip, chunk.length);
            skip -= n;
            chunk = chunk.subarray(n);
            if (!chunk.length) continue;
          }
          if (bounds.size !== undefined && offset + chunk.length > bounds.size) {
            discard(res.body);
            throw this.oversized(digest, bounds.size, from, 'it sent more');
          }
          offset += chunk.length;
          yield chunk;
        }
        return;
      } catch (err) {
        if (err instanceof CustomsError) throw err;
        if (deadline?.aborted) throw late();
        if (offset > before) attempt = 0; // progress was made: the retry budget is per stall
        if (attempt >= this.retries || !this.retriable(err)) {
          const e = this.networkError(err);
          throw new CustomsError(`${e.message}; blob ${digest} broke off after ${offset} bytes`, undefined, {
            cause: err,
          });
        }
        try {
          await sleep(this.backoff(attempt++), undefined, { signal: deadline });
        } catch {
          throw late();
        }
      }
    }
  }

  private oversized(digest: string, size: number, from: string, what: string): CustomsError {
    return new CustomsError(
      `registry ${this.host}: blob ${digest} is larger than its descriptor's ${size} bytes (${what}${from !== this.host ? `, redirected to ${from}` : ''}); refused`,
    );
  }

  /** Whether the repository holds a blob (HEAD), so a push skips what is already there. */
  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const res = await this.fetch(repository, { path: `/v2/${repository}/blobs/${digest}`, method: 'HEAD' });
    await res.body.dump();
    return res.status === 200;
  }

  /**
   * Push a blob in one monolithic upload (POST, then PUT with the digest), unless the registry
   * has it already. `body` makes the content anew for a retried attempt.
   */
  async pushBlob(
    repository: string,
    digest: string,
    length: number,
    body: () => Buffer | Readable,
  ): Promise<'pushed' | 'exists'> {
    if (await this.hasBlob(repository, digest)) return 'exists';
    const start = await this.fetch(repository, {
      path: `/v2/${repository}/blobs/uploads/`,
      method: 'POST',
      body: () => ({ data: Buffer.alloc(0), length: 0 }),
    });
    await this.expectOk(start, `upload of ${digest}`, [202]);
    const location = header(start.headers, 'location');
    if (!location) throw new CustomsError(`registry ${this.host}: upload of ${digest} got no Location`);
    const url = new URL(location, `${await this.base()}/`);
    url.searchParams.set('digest', digest);
    const put = await this.fetch(repository, {
      path: url.toString(),
      method: 'PUT',
      body: () => ({ data: body(), length }),
    });
    await this.expectOk(put, `upload of ${digest}`, [201, 204]);
    await put.body.dump();
    return 'pushed';
  }

  /** Put a manifest under a tag or digest; returns the digest the registry computed. */
  async putManifest(repository: string, reference: string, body: Buffer, mediaType: string): Promise<string> {
    const res = await this.fetch(repository, {
      path: `/v2/${repository}/manifests/${reference}`,
      method: 'PUT',
      contentType: mediaType,
      body: () => ({ data: body, length: body.length }),
    });
    await this.expectOk(res, `manifest ${reference}`, [201, 204]);
    await res.body.dump();
    return (
      header(res.headers, 'docker-content-digest') ??
      `sha256:${createHash('sha256').update(body).digest('hex')}`
    );
  }

  /** Delete a manifest by digest (its tags go with it); false when the registry does not allow deleting. */
  async deleteManifest(repository: string, digest: string): Promise<boolean> {
    const res = await this.fetch(repository, {
      path: `/v2/${repository}/manifests/${digest}`,
      method: 'DELETE',
    });
    if (res.status === 405 || res.status === 404) {
      await res.body.dump();
      return false;
    }
    await this.expectOk(res, `delete of ${digest}`, [200, 202]);
    await res.body.dump();
    return true;
  }

  private async expectOk(res: Response, what: string, ok = [200, 206]): Promise<void> {
    if (ok.includes(res.status)) return;
    let detail = '';
    try {
      const text = (await readCapped(res.body, 64 * 1024, 'error', this.smallDeadline())).toString('utf8');
      const j = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
      detail = (j.errors ?? []).map((e) => `${e.code ?? ''} ${e.message ?? ''}`.trim()).join('; ');
    } catch {
      /* no registry error body */
    }
    throw new CustomsError(
      `registry ${this.host}: ${what}: HTTP ${res.status}${detail ? ` (${detail})` : ''}`,
    );
  }
}

/** Drop a response body unread: undici's destroy() emits an abort error nobody else listens for. */
function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

export function verifyDigest(body: Buffer, digest: string, host: string): void {
  const m = /^(sha256|sha512):([a-f0-9]+)$/.exec(digest);
  if (!m) throw new CustomsError(`unsupported digest algorithm in ${digest}`);
  const got = createHash(m[1]).update(body).digest('hex');
  if (got !== m[2])
    throw new CustomsError(`blob ${digest} from ${host} does not match its digest (got ${m[1]}:${got})`);
}

/**
 * Read a small document (manifest, config, token, error) whole: at most `max` bytes and, with
 * `deadline`, within that many ms in all. undici's body timeout is only an idle one, so a server
 * dripping a byte a second under it would otherwise hold the read open for days.
 */
async function readCapped(
  body: Readable,
  max: number,
  what: string,
  deadline?: { ms: number; who: string },
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  let late = false;
  const timer = deadline
    ? setTimeout(() => {
        late = true;
        discard(body);
      }, deadline.ms)
    : undefined;
  try {
    for await (const c of body as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > max) {
        discard(body);
        throw new CustomsError(`${what} larger than ${max} bytes`);
      }
      chunks.push(c);
    }
  } catch (err) {
    if (!late) throw err;
  } finally {
    clearTimeout(timer);
  }
  if (late)
    throw new CustomsError(
      `${deadline!.who}: the ${what} did not arrive within ${deadline!.ms / 1000} s (${n} bytes in, a drip); refused`,
    );
  return Buffer.concat(chunks);
}
