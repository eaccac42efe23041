import * as client from 'openid-client';
import { CustomsError } from '../errors.js';
import { isPersonRole } from '../model/roles.js';

/**
 * Single sign-on with an OpenID Connect provider (authorization code flow with PKCE, through
 * openid-client). The provider's groups claim decides the role and environments, every sign-in:
 * `--oidc-roles "sec-leads=approver:production+staging,platform=admin"`; someone in no mapped
 * group gets `--oidc-default-role` (viewer; `none` refuses them).
 */

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  /** Where the provider sends the browser back: <server URL>/api/v1/auth/oidc/callback. */
  redirectUri: string;
  /** The claim holding the user's groups (default `groups`). */
  rolesClaim: string;
  roles: Array<{ group: string; role: string; environments: string[] | null }>;
  defaultRole: string;
  /** Allow a provider on plain HTTP (a test or an internal provider). */
  insecure: boolean;
}

export function parseRoleMap(spec: string | undefined): OidcSettings['roles'] {
  const out: OidcSettings['roles'] = [];
  for (const part of (spec ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const m = /^([^=]+)=([a-z]+)(?::([a-z0-9_+-]+))?$/.exec(part);
    if (!m || !isPersonRole(m[2]))
      throw new CustomsError(
        `--oidc-roles: "${part}" is not group=role[:env+env] (roles: viewer, developer, approver, admin)`,
      );
    out.push({ group: m[1], role: m[2], environments: m[3] ? m[3].split('+') : null });
  }
  return out;
}

const RANK = ['viewer', 'developer', 'approver', 'admin'];

/** The strongest role the user's groups grant, with the environments of that grant. */
export function roleFor(
  groups: string[],
  s: Pick<OidcSettings, 'roles' | 'defaultRole'>,
): { role: string; environments: string[] | null } | undefined {
  const hits = s.roles.filter((r) => groups.includes(r.group));
  if (!hits.length) return s.defaultRole === 'none' ? undefined : { role: s.defaultRole, environments: null };
  const best = Math.max(...hits.map((h) => RANK.indexOf(h.role)));
  const top = hits.filter((h) => RANK.indexOf(h.role) === best);
  // Two grants of the same role: the environments add up (all when one of them has no limit).
  const environments = top.some((h) => !h.environments)
    ? null
    : [...new Set(top.flatMap((h) => h.environments!))];
  return { role: RANK[best], environments };
}

export class Oidc {
  private config?: Promise<client.Configuration>;

  constructor(readonly s: OidcSettings) {}

  private discover(): Promise<client.Configuration> {
    this.config ??= client
      .discovery(
        new URL(this.s.issuer),
        this.s.clientId,
        this.s.clientSecret,
        undefined,
        this.s.insecure ? { execute: [client.allowInsecureRequests] } : undefined,
      )
      .catch((err: unknown) => {
        this.config = undefined; // try again next time
        throw new CustomsError(
          `the OIDC provider ${this.s.issuer} cannot be reached: ${(err as Error).message}`,
        );
      });
    return this.config;
  }

  /** Where to send the browser, and what to remember (in a cookie) until it comes back. */
  async start(): Promise<{ url: string; pending: string }> {
    const config = await this.discover();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.s.redirectUri,
      scope: 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return {
      url: url.href,
      pending: Buffer.from(JSON.stringify({ verifier, state, nonce })).toString('base64url'),
    };
  }

  /** The provider sent the browser back: check everything, then who it is and their groups. */
  async finish(
    callbackUrl: URL,
    pending: string | undefined,
  ): Promise<{ subject: string; name: string; groups: string[] }> {
    if (!pending) throw new CustomsError('the sign-in took too long or was started elsewhere; start again');
    let p: { verifier: string; state: string; nonce: string };
    try {
      p = JSON.parse(Buffer.from(pending, 'base64url').toString('utf8')) as typeof p;
    } catch {
      throw new CustomsError('the sign-in state is unreadable; start again');
    }
    const config = await this.discover();
    const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: p.verifier,
      expectedState: p.state,
      expectedNonce: p.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    let all: Record<string, unknown> = { ...claims };
    if (!(this.s.rolesClaim in all) && tokens.access_token)
      all = { ...(await client.fetchUserInfo(config, tokens.access_token, claims.sub)), ...all };
    const raw = all[this.s.rolesClaim];
    const groups = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? [raw] : [];
    const name = String(all.email ?? all.preferred_username ?? `oidc:${claims.sub}`);
    return { subject: claims.sub, name, groups };
  }
}
