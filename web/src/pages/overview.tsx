import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { Link } from 'wouter-preact';
import { short, type Session } from '../api';
import { Grade, Loading, Problem, Risk, Status, when } from '../components';
import { useRoute, type Answer } from '../client';
import { Onboarding } from '../onboarding';

type Env = Answer<'GET /api/v1/overview'>[number];
type Running = Env['running'][number];

/** The 30-day chart: small, and only where there is history to draw (two days with data or more). */
function Trend({ env }: { env: string }) {
  const { data } = useRoute('GET /api/v1/environments/:name/trend', {
    params: { name: env },
    query: { days: 30 },
  });
  const box = useRef<HTMLDivElement>(null);
  const days = data?.filter((d) => d.images > 0) ?? [];
  const drawn = days.length >= 2;
  useEffect(() => {
    if (!data || !drawn || !box.current) return;
    const xs = data.map((d) => Date.parse(`${d.day}T12:00:00Z`) / 1000);
    const plot = new uPlot(
      {
        width: Math.min(360, box.current.clientWidth || 360),
        height: 90,
        // The legend shows "--" until the pointer is over the chart: the caption says it instead.
        legend: { show: false },
        series: [
          {},
          { label: 'critical', stroke: '#a4001d', width: 1.5 },
          { label: 'high', stroke: '#b35900', width: 1.5 },
          { label: 'KEV', stroke: '#5b2a86', width: 1.5, dash: [4, 3] },
        ],
        axes: [{ size: 24 }, { size: 32 }],
      },
      [xs, data.map((d) => d.critical), data.map((d) => d.high), data.map((d) => d.kev)],
      box.current,
    );
    return () => plot.destroy();
  }, [data, drawn]);
  if (!drawn) return null;
  const last = data![data!.length - 1];
  return (
    <figure class="trend trend-small">
      <div ref={box} aria-hidden="true" />
      <figcaption>
        Last 30 days in {env}: critical (red), high (orange), KEV (purple, dashed); today {last.critical}{' '}
        critical, {last.high} high, {last.kev} KEV, worst grade {last.worstGrade ?? '—'}
      </figcaption>
    </figure>
  );
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const day = (iso: string | null | undefined) => (iso ? iso.slice(0, 10) : '');

/** The gate's answer in one line: the status, and what it rests on (accepted failures, exceptions). */
function gateLine(d: Running['decision']): string {
  const parts: string[] = [];
  if (d.accepted)
    parts.push(
      // An approval has no end date: it holds until revoked (or suspended by a new failure).
      `with ${plural(d.accepted.count, 'accepted failure')} (by ${d.accepted.byName ?? d.accepted.by ?? 'someone'}${d.accepted.at ? `, ${day(d.accepted.at)}` : ''}, until revoked)`,
    );
  if (d.exceptions)
    parts.push(
      `${plural(d.exceptions.count, 'exception')} until ${day(d.exceptions.until)} (by ${(d.exceptions.byNames ?? d.exceptions.by).join(', ')})`,
    );
  return parts.join('; ');
}

const PROVENANCE: Record<string, string> = {
  'server-scan': 'server scan',
  reported: 'reported',
  'attested-sbom': 'attested SBOM',
};

/** Findings an exception set aside: not counted (the gate does not see them), but not hidden either. */
function Waived({ n }: { n?: number }) {
  return n ? (
    <div class="reason" data-waived={n}>
      +{n} waived
    </div>
  ) : null;
}

function Row({ r, env }: { r: Running; env: string }) {
  const name = `${r.repository}${r.tags.length ? `:${r.tags[0]}` : ''}`;
  const why = gateLine(r.decision);
  const prov = r.scan?.provenance;
  return (
    <tr data-digest={r.digest} data-allowed={String(r.decision.allowed)}>
      <td>
        <Link href={`/images/${r.digest}?env=${env}`}>{name}</Link>{' '}
        <code class="muted" title={r.digest}>
          {short(r.digest)}
        </code>
      </td>
      <td>{[r.namespace, r.service].filter(Boolean).join('/') || '—'}</td>
      <td title={r.scan?.gradeReason ?? undefined}>
        <Grade grade={r.scan?.grade} uncovered={r.scan?.uncovered} />
        {r.scan?.gradeReason && <div class="reason">{r.scan.gradeReason}</div>}
        {r.scan && (
          <div class="reason">
            <Risk score={r.scan.risk} explanation={r.scan.riskExplanation} />
          </div>
        )}
      </td>
      <td>{r.scan?.counts.critical ?? '—'}</td>
      <td>{r.scan?.counts.high ?? '—'}</td>
      <td>
        {r.scan?.counts.kev ?? '—'}
        <Waived n={r.scan?.waived?.kev} />
      </td>
      <td>
        {r.scan?.counts.fixable ?? '—'}
        <Waived n={r.scan?.waived?.fixable} />
      </td>
      <td>
        {prov && (
          <span
            class={`mark ${prov.kind === 'server-scan' ? 'ok' : 'warn'}`}
            data-provenance={prov.kind}
            title={prov.by ? `${PROVENANCE[prov.kind] ?? prov.kind} by ${prov.by}` : undefined}
          >
            {PROVENANCE[prov.kind] ?? prov.kind}
          </span>
        )}
        {r.scan?.coverage && !r.scan.coverage.complete && (
          <div class="mark bad" data-coverage="incomplete" title={r.scan.coverage.gaps}>
            not covered: {r.scan.uncovered.join(', ')}
          </div>
        )}
      </td>
      <td title={r.decision.reasons.join('\n')}>
        <Status allowed={r.decision.allowed} status={r.decision.status} />
        {why && <div class="reason">{why}</div>}
        {!r.decision.allowed && r.decision.reasons[0] && <div class="reason">{r.decision.reasons[0]}</div>}
        {r.rejudgingSince && (
          <div
            class="mark warn"
            data-stale={r.rejudgingSince}
            title="the previous verdict, shown until judged again"
          >
            re-judging since {when(r.rejudgingSince)}
          </div>
        )}
      </td>
      <td class="fix">{r.topFix ?? <span class="muted">—</span>}</td>
    </tr>
  );
}

export function Overview({ session }: { session?: Session }) {
  const [all, setAll] = useState(false);
  const { data, error, loading, reload } = useRoute('GET /api/v1/overview', {
    query: { limit: all ? 20_000 : undefined },
  });
  // Verdicts being judged again after a change of the gate: read again until they are.
  const rejudging = !!data?.some((e) => e.rejudging);
  useEffect(() => {
    if (!rejudging) return;
    const t = setTimeout(reload, 3000);
    return () => clearTimeout(t);
  }, [rejudging, data, reload]);
  if (loading && !data) return <Loading what="environments" />;
  // Nothing runs anywhere yet: the three ways in, not empty tables.
  if (data && data.every((e) => e.workloads === 0))
    return (
      <>
        <h1>What runs where</h1>
        <p>Nothing is recorded as running yet.</p>
        <Onboarding session={session} />
      </>
    );
  return (
    <>
      <h1>What runs where</h1>
      <Problem error={error} />
      {data?.map((e) => (
        <section class="env" key={e.name} aria-labelledby={`env-${e.name}`} data-env={e.name}>
          <h2 id={`env-${e.name}`}>
            {e.name} <span class="muted">({e.exposure})</span>
          </h2>
          <p class="counts">
            <span data-count="workloads">{plural(e.workloads, 'workload')}</span> ·{' '}
            <span data-count="denied" class={e.notAcceptable ? 'bad' : ''}>
              {e.notAcceptable} not acceptable
            </span>{' '}
            · <span data-count="critical">{e.counts.critical} critical</span> ·{' '}
            <span data-count="kev">{e.counts.kev} KEV</span> ·{' '}
            <span data-count="fixable">{e.counts.fixable} fixable</span>
            {e.uncovered > 0 && (
              <>
                {' '}
                ·{' '}
                <span data-count="uncovered" class="bad">
                  {e.uncovered} not covered by the database
                </span>
              </>
            )}
            {e.rejudging && (
              <>
                {' '}
                ·{' '}
                <span data-count="rejudging" class="mark warn">
                  {plural(e.rejudging.workloads, 'verdict')} re-judging since {when(e.rejudging.since)} (shown
                  as before)
                </span>
              </>
            )}
            {e.workloads > 1 && <span class="muted"> · worst first</span>}
          </p>
          {e.running.length ? (
            <table class="overview">
              <caption class="sr-only">Workloads running in {e.name}, worst first</caption>
              <thead>
                <tr>
                  <th scope="col">Image</th>
                  <th scope="col">Workload</th>
                  <th scope="col">Grade</th>
                  <th scope="col">Critical</th>
                  <th scope="col">High</th>
                  <th scope="col">KEV</th>
                  <th scope="col">Fixable</th>
                  <th scope="col">Source</th>
                  <th scope="col">Gate</th>
                  <th scope="col">First fix</th>
                </tr>
              </thead>
              <tbody>
                {e.running.map((r) => (
                  <Row key={`${r.image}|${r.namespace}|${r.service}`} r={r} env={e.name} />
                ))}
              </tbody>
            </table>
          ) : (
            <p class="muted">Nothing recorded as running here yet.</p>
          )}
          {e.more > 0 && (
            <p>
              {plural(e.more, 'more workload')} not listed.{' '}
              <button type="button" class="secondary" onClick={() => setAll(true)}>
                Show all
              </button>
            </p>
          )}
          <Trend env={e.name} />
          {e.recent.length > 0 && (
            <>
              <h3>Changed by the last deployments</h3>
              <ul class="changes">
                {e.recent.map((d) => (
                  <li key={d.deployedAt + d.digest}>
                    {when(d.deployedAt)}: {d.image.replace(/@sha256:.*/, '')}@{short(d.digest)}
                    {d.change?.fixed != null ? (
                      <>
                        {' '}
                        — <span class="ok">{d.change.fixed} fixed</span>,{' '}
                        <span class={d.change.introduced ? 'bad' : ''}>{d.change.introduced} introduced</span>
                        {d.change.packages
                          ? ` · packages ${d.change.packages.changed} upgraded, ${d.change.packages.added} added, ${d.change.packages.removed} removed`
                          : ''}
                        {d.change.baseImageChanged ? ' · new base image' : ''}{' '}
                        <Link href={`/compare?from=${d.change.previous}&to=${d.digest}`}>compare</Link>
                      </>
                    ) : (
                      ' — first deployment'
                    )}
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>
      ))}
    </>
  );
}
