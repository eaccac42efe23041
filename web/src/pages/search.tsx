import { Link, useSearch } from 'wouter-preact';
import { short } from '../api';
import { Grade, Loading, Problem, Risk } from '../components';
import { useRoute, type Answer } from '../client';

type Hit = Answer<'GET /api/v1/search'>['items'][number];

/** What the newest scan found, never a bare "0" where the database did not look. */
function Scan({ s }: { s: Hit['scan'] }) {
  if (!s) return <span class="muted">not scanned yet</span>;
  const nc = s.uncovered.length > 0;
  return (
    <>
      <Grade grade={s.grade} uncovered={s.uncovered.map((u) => u.split(':')[0])} /> {s.total} finding
      {s.total === 1 ? '' : 's'}
      {nc ? ' where the database has data' : ''}
      {s.kev ? `, ${s.kev} KEV` : ''}
      {nc && (
        <span class="nc-why" data-coverage="incomplete">
          {' '}
          — not covered: {s.uncovered.join('; ')}
        </span>
      )}{' '}
      · <Risk score={s.risk} explanation={s.riskExplanation} />
    </>
  );
}

export function Search() {
  const q = new URLSearchParams(useSearch()).get('q') ?? '';
  const { data, error } = useRoute(q ? 'GET /api/v1/search' : null, { query: { q } });
  if (!q)
    return (
      <p>
        Search from the box above: a repository or tag, a digest, a package (log4j-core@2.14.1) or a
        vulnerability (CVE-…). No images yet? See <Link href="/getting-started">the ways in</Link>.
      </p>
    );
  if (error) return <Problem error={error} />;
  if (!data) return <Loading what="results" />;
  return (
    <>
      <h1>
        {data.items.length} image{data.items.length === 1 ? '' : 's'} for “{q}”
      </h1>
      {data.items.length === 0 ? (
        <p class="empty">
          No stored image matches. A package or vulnerability is found only in images the server has scanned;
          an image the database does not cover can hold it unnoticed (its grade says “not covered”).
        </p>
      ) : (
        <table class="results">
          <thead>
            <tr>
              <th scope="col">Image</th>
              {data.kind !== 'image' && (
                <th scope="col">{data.kind === 'package' ? 'Package' : 'Vulnerability'}</th>
              )}
              <th scope="col">Newest scan</th>
              <th scope="col">Runs in</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((h) => (
              <tr
                key={h.digest + (h.package ?? '') + (h.version ?? '') + (h.vulnerability ?? '')}
                data-digest={h.digest}
              >
                <td>
                  <Link href={`/images/${h.digest}`}>
                    {h.images[0] ?? 'image'}@{short(h.digest)}
                  </Link>
                </td>
                {data.kind !== 'image' && (
                  <td>
                    {data.kind === 'package'
                      ? `${h.package} ${h.version}`
                      : `${h.vulnerability} (${h.severity}) in ${h.package} ${h.version}`}
                  </td>
                )}
                <td>
                  <Scan s={h.scan} />
                </td>
                <td>{h.runningIn.join(', ') || <span class="muted">not deployed</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
