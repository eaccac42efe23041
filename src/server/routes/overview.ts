import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { RunningRow } from '../../gate/verdicts.js';
import { inPeopleWords, peopleNames } from '../../services/people.js';
import { environments, history, historyStamp } from '../../store/deployments.js';
import { authErrors, errorSchema } from '../errors.js';
import { OverviewEnvironment, OverviewQuery } from '../schemas/overview.js';
import type { GateDeps } from './deps.js';

/** The overview: per environment, every workload running now, worst first, and the last deployments. */
export function overviewRoutes(base: FastifyInstance, s: GateDeps): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = s;

  app.get(
    '/api/v1/overview',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          'Per environment (production first): every workload running now, worst first, with its image, grade and reason, counts, coverage, provenance, gate decision and first fix; and the last deployments with what they fixed and introduced',
        tags: ['monitoring'],
        querystring: OverviewQuery,
        response: { 200: Type.Array(OverviewEnvironment), 400: errorSchema, ...authErrors },
      },
    },
    // Serialized with JSON.stringify: fastify's serializer for these open objects took 50 ms at 700 rows.
    async (req, reply) =>
      reply
        .type('application/json; charset=utf-8')
        .serializer(JSON.stringify)
        .send(await overview(req.query.limit ?? 200)),
  );

  /**
   * The last deployments of an environment with what they changed: reading their results and
   * inventories cost 100–300 ms a request on PostgreSQL (bench/overview-bench.ts), so the answer is
   * kept while nothing it shows changed (the environment's deployments, the newest scan), 30 s at most.
   */
  type Recent = Awaited<ReturnType<typeof history>>;
  const recentCache = new Map<string, { stamp: string; until: number; value: Recent }>();
  async function recentOf(environment: string): Promise<Recent> {
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
