import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { baseLayerCount, planFor, upgrades } from '../../advise/advise.js';
import { compareScans } from '../../compare/compare.js';
import { audit } from '../../services/audit.js';
import type { Admission } from '../../gate/admission.js';
import { waivedOf, type RunningRow } from '../../gate/verdicts.js';
import { latestResult, policyState } from '../../gate/evaluate.js';
import { actorOf, type Principal } from '../../gate/settings.js';
import { evaluatePolicy, type Policy } from '../../policy/policy.js';
import { releasesBehind } from '../../distro/eol.js';
import { revokeToken, upsertOidcUser } from '../../store/auth.js';
import { roleFor, type Oidc } from '../oidc.js';
import { environments, history, historyStamp } from '../../store/deployments.js';
import { searchFleet } from '../../services/search.js';
import { inPeopleWords, peopleNames } from '../../services/people.js';
import { deploymentsOf, imageRefs, scanCounts } from '../../store/search.js';
import { csrfOf, SESSION_COOKIE } from '../auth.js';
import { openSession, passwordSignIn, signInLimiter } from '../sessions.js';
import { permissionsOf } from '../../model/roles.js';
import { authErrors, errorSchema } from '../errors.js';
import { credentials, digestParam, envName } from '../schemas.js';
import type { Services } from '../../services/ingest.js';
import { DomainError } from '../../services/errors.js';
import { explainImageRisk, explainRisk } from '../../rank/explain.js';
import type { Finding } from '../../model/scan.js';
import type { SecretBox } from '../../store/secret-box.js';
import { BASE_LIMITS, baseCandidates } from '../../services/base-candidates.js';

/**
 * What the dashboard needs beyond the resource routes, all of it public API too: cookie sessions
 * (with their CSRF token), search across stored images, one image's page in one answer, compare.
 */

const OIDC_COOKIE = 'customs_oidc';
const esc = (t: string) => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const OS_TYPES = new Set(['apk', 'deb', 'rpm', 'alpm', 'portage']);

/** A finding with its risk in words, the CLI's `--explain` text: the page shows it, never rebuilds it. */
const explained = <F extends Finding>(f: F): F => ({
  ...f,
  risk: { ...f.risk, explanation: explainRisk(f) },
});

const sessionAnswer = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    role: { type: 'string' },
    permissions: { type: 'array', items: { type: 'string' } },
    environments: { type: ['array', 'null'], items: { type: 'string' } },
    csrfToken: { type: ['string', 'null'] },
    expiresAt: { type: ['string', 'null'] },
  },
} as const;

export function dashboardRoutes(
  app: FastifyInstance,
  s: Services & {
    policy: Policy;
    /** Whether cookies get `Secure`: served over HTTPS here, or behind a TLS proxy (app.ts). */
    secure: (req: FastifyRequest) => boolean;
    admission: Admission;
    oidc?: Oidc;
    box: SecretBox;
  },
): void {
  const { db } = s;

  app.post<{ Body: { username: string; password: string } }>(
    '/api/v1/auth/session',
    {
      onRequest: signInLimiter(app),
      schema: {
        summary: 'Sign in to the dashboard: a 12-hour session in an HttpOnly, SameSite=Strict cookie',
        tags: ['auth'],
        security: [],
        body: credentials,
        response: { 200: sessionAnswer, 400: errorSchema, 401: errorSchema, 429: errorSchema },
      },
    },
    async (req, reply) => {
      const u = await passwordSignIn(db, req.body.username, req.body.password, req.ip);
      return startSession(
        reply,
        { id: u.id, name: req.body.username, role: u.role, environments: u.environments },
        'password',
      );
    },
  );

  /** A 12-hour session for a user: token, cookies, audit entry. */
  async function startSession(
    reply: FastifyReply,
    u: { id: number; name: string; role: string; environments: string[] | null },
    via: 'password' | 'oidc',
  ) {
    const { token, expiresAt } = await openSession(db, u, {
      role: u.role,
      environments: u.environments,
      via,
    });
    reply.setCookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: s.secure(reply.request),
      path: '/',
      expires: new Date(expiresAt),
    });
    // A readable marker so the page knows to ask who is signed in (the session cookie it cannot read).
    reply.setCookie('customs_signed_in', '1', {
      sameSite: 'strict',
      secure: s.secure(reply.request),
      path: '/',
      expires: new Date(expiresAt),
    });
    return {
      name: u.name,
      role: u.role,
      permissions: permissionsOf(u.role, null),
      environments: u.environments,
      csrfToken: csrfOf(token),
      expiresAt,
    };
  }

  app.get(
    '/api/v1/auth/methods',
    {
      schema: {
        summary: 'How one signs in here: password, and single sign-on when an OIDC provider is configured',
        tags: ['auth'],
        security: [],
        response: {
          200: { type: 'object', properties: { password: { type: 'boolean' }, oidc: { type: 'boolean' } } },
        },
      },
    },
    async () => ({ password: true, oidc: !!s.oidc }),
  );

  const page = (reply: FastifyReply, status: number, title: string, body: string) =>
    reply
      .code(status)
      .type('text/html')
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>${
          status === 200 ? '<meta http-equiv="refresh" content="0;url=/">' : ''
        }</head><body><main><h1>${esc(title)}</h1><p>${body}</p></main></body></html>`,
      );

  app.get(
    '/api/v1/auth/oidc/login',
    {
      schema: {
        summary: 'Start single sign-on: a redirect to the OIDC provider',
        tags: ['auth'],
        security: [],
      },
    },
    async (_req, reply) => {
      if (!s.oidc)
        throw new DomainError(
          'not_found',
          'no OIDC provider is configured (--oidc-issuer)',
          'not_configured',
        );
      const { url, pending } = await s.oidc.start();
      // Lax, not Strict: the provider sends the browser back with a cross-site top-level GET.
      reply.setCookie(OIDC_COOKIE, pending, {
        httpOnly: true,
        sameSite: 'lax',
        secure: s.secure(reply.request),
        path: '/api/v1/auth/oidc',
        maxAge: 600,
      });
      return reply.redirect(url, 302);
    },
  );

  app.get(
    '/api/v1/auth/oidc/callback',
    {
      schema: {
        summary: 'Where the OIDC provider sends the browser back; starts a session and goes to the dashboard',
        tags: ['auth'],
        security: [],
        // What providers send back (others are let through: the library checks the response).
        querystring: {
          type: 'object',
          properties: {
            code: { type: 'string', maxLength: 4096 },
            state: { type: 'string', maxLength: 1024 },
            iss: { type: 'string', maxLength: 2048 },
            session_state: { type: 'string', maxLength: 1024 },
            error: { type: 'string', maxLength: 200 },
            error_description: { type: 'string', maxLength: 2000 },
          },
        },
      },
    },
    async (req, reply) => {
      if (!s.oidc)
        throw new DomainError(
          'not_found',
          'no OIDC provider is configured (--oidc-issuer)',
          'not_configured',
        );
      const pending = req.cookies[OIDC_COOKIE];
      reply.clearCookie(OIDC_COOKIE, { path: '/api/v1/auth/oidc' });
      const url = new URL(req.url, s.oidc.s.redirectUri);
      let who;
      try {
        who = await s.oidc.finish(url, pending);
      } catch (err) {
        req.log.warn({ reason: (err as Error).message }, 'OIDC sign-in refused');
        return page(reply, 401, 'Sign-in failed', `${esc((err as Error).message)} <a href="/">Back</a>`);
      }
      const grant = roleFor(who.groups, s.oidc.s);
      if (!grant) {
        await audit({ db, actor: `user:${who.name}` }, 'session.refused', `oidc:${who.subject}`, {
          groups: who.groups,
        });
        return page(
          reply,
          403,
          'Not allowed here',
          `${esc(who.name)} is in no group this server grants a role to.`,
        );
      }
      let user;
      try {
        user = await upsertOidcUser(db, { name: who.name, ...grant });
      } catch (err) {
        return page(reply, 409, 'Sign-in refused', esc((err as Error).message));
      }
      await startSession(reply, { id: user.id, name: who.name, ...grant }, 'oidc');
      return page(reply, 200, 'Signed in', 'Going to the dashboard… <a href="/">continue</a>');
    },
  );

  app.get(
    '/api/v1/auth/session',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Who is signed in, what they may do, and the CSRF token of a cookie session',
        tags: ['auth'],
        response: { 200: sessionAnswer, ...authErrors },
      },
    },
    async (req) => {
      const p = req.principal as Principal;
      const cookie = req.cookies[SESSION_COOKIE];
      return {
        name: actorOf(p)
          .replace(/^(user|token):/, '')
          .replace(/#\d+$/, ''),
        role: p.role,
        permissions: p.permissions,
        environments: p.environments,
        csrfToken: cookie && !req.headers.authorization ? csrfOf(cookie) : null,
        expiresAt: p.expiresAt,
      };
    },
  );

  app.delete(
    '/api/v1/auth/session',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Sign out: the session token is revoked',
        tags: ['auth'],
        response: { 204: { type: 'null' }, ...authErrors },
      },
    },
    async (req, reply) => {
      const p = req.principal as Principal;
      if (p.userId) await revokeToken(db, p.id);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      reply.clearCookie('customs_signed_in', { path: '/' });
      reply.code(204);
      return null;
    },
  );

  app.get<{
    Querystring: { q?: string; package?: string; version?: string; vulnerability?: string; limit?: number };
  }>(
    '/api/v1/search',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          'Images holding a package (and version), affected by a vulnerability, or matching a repository, tag or digest; with where each runs',
        tags: ['images'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            q: {
              type: 'string',
              maxLength: 300,
              description: 'CVE/GHSA id, name@version, a digest, or repository/tag text',
            },
            package: { type: 'string', maxLength: 300 },
            version: { type: 'string', maxLength: 200 },
            vulnerability: { type: 'string', maxLength: 200 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 200 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              kind: { type: 'string', enum: ['package', 'vulnerability', 'image'] },
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    digest: { type: 'string' },
                    images: { type: 'array', items: { type: 'string' } },
                    package: { type: 'string' },
                    version: { type: 'string' },
                    vulnerability: { type: 'string' },
                    severity: { type: 'string' },
                    runningIn: { type: 'array', items: { type: 'string' } },
                    scan: {
                      type: ['object', 'null'],
                      description:
                        "The image's newest scan; `uncovered` names each part the database did not cover and why (then no finding there means nothing was checked)",
                      properties: {
                        grade: { type: 'string' },
                        total: { type: 'integer' },
                        kev: { type: 'integer' },
                        risk: { type: 'number' },
                        riskExplanation: {
                          type: 'string',
                          description: 'the risk in words (the CLI --explain text)',
                        },
                        uncovered: { type: 'array', items: { type: 'string' } },
                      },
                    },
                  },
                },
              },
            },
          },
          ...authErrors,
        },
      },
    },
    async (req) =>
      searchFleet(db, {
        q: req.query.q,
        vulnerability: req.query.vulnerability,
        package: req.query.package,
        version: req.query.version,
        limit: req.query.limit,
      }),
  );

  app.get<{ Params: { digest: string }; Querystring: { environment?: string } }>(
    '/api/v1/images/:digest/view',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          "An image's page in one answer: layers and their Dockerfile steps, packages (base or application), findings ranked by risk after the environment's exceptions, advice, decisions per environment",
        tags: ['images'],
        params: {
          type: 'object',
          properties: { digest: { type: 'string', pattern: '^sha256:[a-f0-9]{64}$' } },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { environment: envName },
        },
        response: { 200: { type: 'object', additionalProperties: true }, 404: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const digest = req.params.digest;
      const environment = req.query.environment ?? 'production';
      const latest = await latestResult(db, digest);
      if (!latest) throw new DomainError('not_found', `no scan of ${digest}`);
      const state = await policyState(db, digest, environment, { policy: s.policy });
      const r = state.result ?? latest.result;
      const base = baseLayerCount(r);
      const adv = upgrades(r, base);
      const rules = s.policy.environments[environment] ? evaluatePolicy(s.policy, environment, r) : [];
      const envs = await environments(db);
      const judged = [];
      for (const e of envs) judged.push(await s.admission.decision(digest, e.name));
      // People, not tokens, in the reasons shown ("approved for production by alice (token cli)").
      const said = await inPeopleWords(
        db,
        judged.map((d) => d.reasons),
      );
      const decisions = judged.map((d, i) => ({ ...d, reasons: said[i] }));
      const refs = await imageRefs(db, digest);
      return {
        digest,
        environment,
        names: refs.map((x) => `${x.registry}/${x.repository}`),
        tags: [...new Set(refs.flatMap((x) => JSON.parse(x.tags) as string[]))],
        scan: state.scan,
        // Who read the inventory this result comes from: the server, or a client's report.
        provenance: latest.provenance,
        image: {
          os: r.os ? `${r.os.name ?? r.os.id} ${r.os.version ?? ''}`.trim() : null,
          // The base image's release: end of life, and how many newer releases exist.
          base: r.os
            ? {
                eol: r.os.eol?.date ?? null,
                endOfLife: r.os.eol?.endOfLife ?? null,
                releasesBehind: releasesBehind(r.os.id, r.os.version) ?? null,
              }
            : null,
          created: r.image.created ?? null,
          architecture: r.image.architecture ?? null,
          layers: r.image.layers.map((l, i) => ({
            index: i,
            digest: l.diffId,
            size: l.size,
            createdBy: l.createdBy ?? null,
            base: i < base,
          })),
          attestations: r.image.attestations ?? [],
        },
        // Counted after this environment's exceptions (what the gate sees); `waived`: what they set aside.
        summary: r.summary,
        waived: waivedOf(r),
        // The image's risk over the findings shown (after this environment's exceptions), in words.
        risk: explainImageRisk(r.findings, r.suppressed?.length ?? 0),
        coverage: r.coverage ?? null,
        // What the scan said about itself (a stale database, a source that failed, files passed over).
        warnings: r.warnings ?? [],
        findings: [...r.findings]
          .sort(
            (a, b) =>
              Number(b.kind === 'malicious') - Number(a.kind === 'malicious') || b.risk.score - a.risk.score,
          )
          .map(explained),
        suppressed: (r.suppressed ?? []).map(explained),
        secrets: r.secrets ?? [],
        misconfigurations: r.misconfigurations ?? [],
        packages: r.packages.map((p) => ({
          name: p.name,
          version: p.version,
          type: p.type,
          purl: p.purl,
          layer: p.layer?.index ?? null,
          origin: OS_TYPES.has(p.type) || (p.layer?.index ?? Infinity) < base ? 'base' : 'application',
        })),
        advice: {
          upgrades: adv.upgrades,
          unfixable: adv.unfixable,
          plan: planFor(rules, { upgrades: adv.upgrades }, r),
        },
        policy: rules,
        decisions,
      };
    },
  );

  app.get<{ Params: { digest: string } }>(
    '/api/v1/images/:digest/base-candidates',
    {
      config: { permission: 'read' },
      schema: {
        summary: `Newer base images of the same distribution found in configured registries (repositories named after it, and the base the image's label names), ranked by the findings each would remove; tags not scanned yet are queued when the asker may request scans (report permission), else listed as unscanned. Bounded: ${BASE_LIMITS.repositories} repositories, ${BASE_LIMITS.tagsPerRepository} tags each, ${BASE_LIMITS.budgetMs / 1000} s; cached ${BASE_LIMITS.cacheMs / 60_000} minutes`,
        tags: ['images'],
        params: digestParam,
        response: {
          200: {
            type: 'object',
            properties: {
              candidates: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    image: { type: 'string' },
                    os: { type: 'string' },
                    removes: { type: 'integer' },
                    removed: { type: 'array', items: { type: 'string' } },
                    carries: { type: 'integer' },
                    riskRemoved: { type: 'number' },
                    sameFamily: { type: 'boolean' },
                    supported: { type: 'boolean' },
                  },
                },
              },
              looked: { type: 'array', items: { type: 'string' } },
              pending: { type: 'array', items: { type: 'string' } },
              unscanned: {
                type: 'array',
                items: { type: 'string' },
                description: 'tags not scanned yet and not queued: the asker may not request scans',
              },
              problems: { type: 'array', items: { type: 'string' } },
            },
          },
          404: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req) => {
      const latest = await latestResult(db, req.params.digest);
      if (!latest) throw new DomainError('not_found', `no scan of ${req.params.digest}`);
      // Queuing the unscanned tags is a scan request: only for those who may ask for scans.
      const queue = (req.principal as Principal).permissions.includes('report');
      return baseCandidates(s, req.params.digest, latest.result, baseLayerCount(latest.result), { queue });
    },
  );

  app.get<{ Querystring: { from: string; to: string } }>(
    '/api/v1/compare',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          'What changed from one stored image to another: packages, vulnerabilities fixed and introduced, grade, base',
        tags: ['images'],
        querystring: {
          type: 'object',
          required: ['from', 'to'],
          additionalProperties: false,
          properties: {
            from: { type: 'string', pattern: '^sha256:[a-f0-9]{64}$' },
            to: { type: 'string', pattern: '^sha256:[a-f0-9]{64}$' },
          },
        },
        response: { 200: { type: 'object', additionalProperties: true }, 404: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const [a, b] = await Promise.all([latestResult(db, req.query.from), latestResult(db, req.query.to)]);
      if (!a || !b) throw new DomainError('not_found', `no scan of ${!a ? req.query.from : req.query.to}`);
      const c = compareScans(a.result, b.result);
      // Each side's risk number in words, as the image page says it.
      return {
        ...c,
        from: { ...c.from, riskExplanation: explainImageRisk(a.result.findings).explanation },
        to: { ...c.to, riskExplanation: explainImageRisk(b.result.findings).explanation },
      };
    },
  );

  app.get<{ Params: { name: string }; Querystring: { days?: number } }>(
    '/api/v1/environments/:name/trend',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          'Per day: the images running in an environment then, their worst grade and summed counts as scanned then',
        tags: ['monitoring'],
        params: {
          type: 'object',
          properties: { name: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' } },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { days: { type: 'integer', minimum: 1, maximum: 365, default: 30 } },
        },
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                day: { type: 'string' },
                images: { type: 'integer' },
                worstGrade: { type: ['string', 'null'] },
                critical: { type: 'integer' },
                high: { type: 'integer' },
                kev: { type: 'integer' },
                total: { type: 'integer' },
              },
            },
          },
          ...authErrors,
        },
      },
    },
    async (req) => {
      const days = req.query.days ?? 30;
      const deps = await deploymentsOf(db, req.params.name);
      const scans = await scanCounts(db, [...new Set(deps.map((d) => d.digest))].slice(0, 2000));
      const out = [];
      const today = new Date();
      for (let i = days - 1; i >= 0; i--) {
        const end = new Date(
          Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i, 23, 59, 59, 999),
        ).toISOString();
        // What ran at the end of that day: the newest deployment per workload until then.
        const now = new Map<string, string>();
        for (const d of deps)
          if (d.deployed_at <= end)
            now.set(`${d.registry}/${d.repository}|${d.namespace}|${d.service}`, d.digest);
        let worst: string | null = null;
        const sum = { critical: 0, high: 0, kev: 0, total: 0 };
        for (const digest of now.values()) {
          const sc = scans.filter((x) => x.digest === digest && x.created_at <= end).pop();
          if (!sc) continue;
          if (!worst || sc.grade > worst) worst = sc.grade;
          sum.critical += Number(sc.critical);
          sum.high += Number(sc.high);
          sum.kev += Number(sc.kev);
          sum.total += Number(sc.total);
        }
        out.push({ day: end.slice(0, 10), images: now.size, worstGrade: worst, ...sum });
      }
      return out;
    },
  );

  app.get<{ Querystring: { limit?: number } }>(
    '/api/v1/overview',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          'Per environment (production first): every workload running now, worst first, with its image, grade and reason, counts, coverage, provenance, gate decision and first fix; and the last deployments with what they fixed and introduced',
        tags: ['monitoring'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: {
              type: 'integer',
              minimum: 1,
              maximum: 20_000,
              default: 200,
              description: 'workloads listed per environment, worst first (the counts cover all)',
            },
          },
        },
        response: {
          200: { type: 'array', items: { type: 'object', additionalProperties: true } },
          ...authErrors,
        },
      },
    },
    // Serialized here: fastify's serializer for these open objects took 50 ms at 700 rows.
    async (req, reply) =>
      reply
        .type('application/json; charset=utf-8')
        .send(JSON.stringify(await overview(req.query.limit ?? 200))),
  );

  /**
   * The last deployments of an environment with what they changed: reading their results and
   * inventories cost 100–300 ms a request on PostgreSQL (bench/overview-bench.ts), so the answer is
   * kept while nothing it shows changed (the environment's deployments, the newest scan), 30 s at most.
   */
  const recentCache = new Map<string, { stamp: string; until: number; value: unknown[] }>();
  async function recentOf(environment: string): Promise<unknown[]> {
    const stamp = await historyStamp(db, environment);
    const hit = recentCache.get(environment);
    if (hit && hit.stamp === stamp && hit.until > Date.now()) return hit.value;
    const value = (await history(db, environment, 20)).reverse().slice(0, 10);
    recentCache.set(environment, { stamp, until: Date.now() + 30_000, value });
    return value;
  }

  /** The overview's answer: stored verdicts (gate/verdicts.ts), judged again only where they lapsed. */
  async function overview(limit: number) {
    const envs = (await environments(db)).sort(
      (a, b) =>
        Number(b.name === 'production') - Number(a.name === 'production') || a.name.localeCompare(b.name),
    );
    const byEnv = new Map<string, RunningRow[]>();
    for (const r of await s.admission.verdicts.running()) {
      const list = byEnv.get(r.environment);
      if (list) list.push(r);
      else byEnv.set(r.environment, [r]);
    }
    const out = [];
    for (const e of envs) {
      const rows = (byEnv.get(e.name) ?? []).sort(worstFirst);
      const sum = (f: (r: RunningRow) => number) => rows.reduce((n, r) => n + f(r), 0);
      const recent = await recentOf(e.name);
      const shown = rows.slice(0, limit);
      const reasons = await inPeopleWords(
        db,
        shown.map((r) => r.verdict!.reasons),
      );
      // People, not tokens: who accepted failures or made exceptions, as people read it.
      const names = await peopleNames(
        db,
        shown.flatMap((r) => [r.verdict!.accepted?.by, ...(r.verdict!.exceptions?.by ?? [])]),
      );
      const stale = rows.filter((r) => r.stale);
      out.push({
        name: e.name,
        exposure: e.exposure,
        workloads: rows.length,
        // Verdicts a change of the gate made stale, shown as they were until judged again.
        rejudging: stale.length
          ? { workloads: stale.length, since: stale.map((r) => r.stale!).sort()[0] }
          : null,
        notAcceptable: rows.filter((r) => !r.verdict!.allowed).length,
        counts: {
          critical: sum((r) => countsOf(r)?.critical ?? 0),
          high: sum((r) => countsOf(r)?.high ?? 0),
          kev: sum((r) => countsOf(r)?.kev ?? 0),
          fixable: sum((r) => countsOf(r)?.fixable ?? 0),
        },
        uncovered: rows.filter((r) => uncoveredOf(r).length).length,
        running: shown.map((r, i) => ({
          image: `${r.registry}/${r.repository}@${r.digest}`,
          registry: r.registry,
          repository: r.repository,
          digest: r.digest,
          tags: r.tags,
          namespace: r.namespace,
          service: r.service,
          deployedAt: r.deployedAt,
          source: r.source,
          // Grade, counts and risk as the gate sees them here (after exceptions), the risk in words.
          scan: r.scan
            ? {
                ...r.scan,
                ...(r.verdict!.seen
                  ? {
                      grade: r.verdict!.seen.grade,
                      counts: r.verdict!.seen.counts,
                      risk: r.verdict!.seen.risk.score,
                      riskExplanation: r.verdict!.seen.risk.explanation,
                      waived: r.verdict!.seen.waived,
                    }
                  : { riskExplanation: null, waived: null }),
                gradeReason: r.verdict!.gradeReason,
                uncovered: uncoveredOf(r),
                coverage: r.verdict!.coverage,
              }
            : null,
          decision: {
            allowed: r.verdict!.allowed,
            status: r.verdict!.status,
            reasons: reasons[i],
            accepted: r.verdict!.accepted && {
              ...r.verdict!.accepted,
              byName: names.get(r.verdict!.accepted.by ?? '') ?? r.verdict!.accepted.by,
            },
            exceptions: r.verdict!.exceptions && {
              ...r.verdict!.exceptions,
              byNames: r.verdict!.exceptions.by.map((b) => names.get(b) ?? b),
            },
          },
          topFix: r.verdict!.topFix,
          rejudgingSince: r.stale ?? null,
        })),
        more: Math.max(0, rows.length - limit),
        recent,
      });
    }
    return out;
  }

  app.get(
    '/api/v1/policy',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          'The policy the server judges environments by (its --policy file, or the built-in one): rules per environment',
        tags: ['gate'],
        response: { 200: { type: 'object', additionalProperties: true }, ...authErrors },
      },
    },
    async () => s.policy,
  );
}

/** Counts as the gate sees them (after exceptions); a verdict without them, the scan's own. */
const countsOf = (r: RunningRow) => r.verdict?.seen?.counts ?? r.scan?.counts;
const gradeOf = (r: RunningRow) => r.verdict?.seen?.grade ?? r.scan?.grade ?? '';
const riskOf = (r: RunningRow) => r.verdict?.seen?.risk.score ?? r.scan?.risk ?? 0;

const uncoveredOf = (r: RunningRow) => r.verdict?.coverage?.uncovered ?? r.scan?.uncovered ?? [];

// Plain code-unit order: localeCompare cost 50 ms sorting 2,000 rows.
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Not acceptable first, then the worse grade, more KEV, more critical, higher risk; then by name. */
function worstFirst(a: RunningRow, b: RunningRow): number {
  return (
    Number(a.verdict!.allowed) - Number(b.verdict!.allowed) ||
    cmp(gradeOf(b), gradeOf(a)) ||
    (countsOf(b)?.kev ?? 0) - (countsOf(a)?.kev ?? 0) ||
    (countsOf(b)?.critical ?? 0) - (countsOf(a)?.critical ?? 0) ||
    riskOf(b) - riskOf(a) ||
    cmp(a.repository, b.repository) ||
    cmp(a.namespace ?? '', b.namespace ?? '') ||
    cmp(a.service ?? '', b.service ?? '')
  );
}
