import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { Link } from 'wouter-preact';
import { short } from '../api';
import { Grade, Loading, Problem, Status, when } from '../components';
import { useApi } from '../hooks';

interface Running {
  image: string;
  repository: string;
  digest: string;
  namespace: string | null;
  service: string | null;
  deployedAt: string;
  scan: { grade: string; risk: number; counts: Record<string, number>; uncovered?: string[] } | null;
  decision: { allowed: boolean; status: string; reasons: string[] };
}
interface Recent {
  deployedAt: string;
  image: string;
  digest: string;
  change: {
    previous: string;
    introduced: number | null;
    fixed: number | null;
    packages?: { added: number; removed: number; changed: number };
    baseImageChanged?: boolean;
  } | null;
}
interface Env {
  name: string;
  exposure: string;
  running: Running[];
  recent: Recent[];
}
interface Day {
  day: string;
  images: number;
  worstGrade: string | null;
  critical: number;
  high: number;
  kev: number;
}

function Trend({ env }: { env: string }) {
  const { data } = useApi<Day[]>(`/api/v1/environments/${env}/trend?days=30`);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!data || !box.current) return;
    const xs = data.map((d) => Date.parse(`${d.day}T12:00:00Z`) / 1000);
    const plot = new uPlot(
      {
        width: Math.min(640, box.current.clientWidth || 640),
        height: 160,
        legend: { show: true },
        series: [
          {},
          { label: 'critical', stroke: '#a4001d', width: 2 },
          { label: 'high', stroke: '#b35900', width: 2 },
          { label: 'KEV', stroke: '#5b2a86', width: 2, dash: [4, 3] },
        ],
        axes: [{}, { label: 'findings' }],
      },
      [xs, data.map((d) => d.critical), data.map((d) => d.high), data.map((d) => d.kev)],
      box.current,
    );
    return () => plot.destroy();
  }, [data]);
  const last = data?.[data.length - 1];
  return (
    <figure class="trend">
      <div ref={box} aria-hidden="true" />
      <figcaption>
        Last 30 days in {env}
        {last
          ? `: today ${last.images} image${last.images === 1 ? '' : 's'}, worst grade ${last.worstGrade ?? '—'}, ${last.critical} critical, ${last.kev} KEV`
          : ''}
      </figcaption>
    </figure>
  );
}

export function Overview() {
  const { data, error, loading } = useApi<Env[]>('/api/v1/overview');
  if (loading && !data) return <Loading what="environments" />;
  return (
    <>
      <h1>What runs where</h1>
      <Problem error={error} />
      {data?.map((e) => {
        const denied = e.running.filter((r) => !r.decision.allowed).length;
        const crit = e.running.reduce((s, r) => s + (r.scan?.counts.critical ?? 0), 0);
        const kev = e.running.reduce((s, r) => s + (r.scan?.counts.kev ?? 0), 0);
        const uncovered = e.running.filter((r) => r.scan?.uncovered?.length).length;
        return (
          <section class="env" key={e.name} aria-labelledby={`env-${e.name}`} data-env={e.name}>
            <h2 id={`env-${e.name}`}>
              {e.name} <span class="muted">({e.exposure})</span>
            </h2>
            <p class="counts">
              <span data-count="images">
                {e.running.length} image{e.running.length === 1 ? '' : 's'} running
              </span>{' '}
              · <span data-count="critical">{crit} critical</span> · <span data-count="kev">{kev} KEV</span> ·{' '}
              <span data-count="denied" class={denied ? 'bad' : ''}>
                {denied} not acceptable
              </span>
              {uncovered > 0 && (
                <>
                  {' '}
                  ·{' '}
                  <span data-count="uncovered" class="bad">
                    {uncovered} not covered by the database
                  </span>
                </>
              )}
            </p>
            {e.running.length ? (
              <table>
                <caption class="sr-only">Images running in {e.name}</caption>
                <thead>
                  <tr>
                    <th scope="col">Image</th>
                    <th scope="col">Workload</th>
                    <th scope="col">Grade</th>
                    <th scope="col">Risk</th>
                    <th scope="col">Critical</th>
                    <th scope="col">KEV</th>
                    <th scope="col">Gate</th>
                    <th scope="col">Deployed</th>
                  </tr>
                </thead>
                <tbody>
                  {e.running.map((r) => (
                    <tr key={r.image}>
                      <td>
                        <Link href={`/images/${r.digest}?env=${e.name}`}>
                          {r.repository}@{short(r.digest)}
                        </Link>
                      </td>
                      <td>{[r.namespace, r.service].filter(Boolean).join('/') || '—'}</td>
                      <td>
                        <Grade grade={r.scan?.grade} uncovered={r.scan?.uncovered} />
                      </td>
                      <td>{r.scan ? r.scan.risk.toFixed(1) : '—'}</td>
                      <td>{r.scan?.counts.critical ?? '—'}</td>
                      <td>{r.scan?.counts.kev ?? '—'}</td>
                      <td title={r.decision.reasons.join('\n')}>
                        <Status allowed={r.decision.allowed} status={r.decision.status} />
                      </td>
                      <td>{when(r.deployedAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p class="muted">Nothing recorded as running here yet.</p>
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
                          <span class={d.change.introduced ? 'bad' : ''}>
                            {d.change.introduced} introduced
                          </span>
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
        );
      })}
    </>
  );
}
