import { Link, useSearch } from 'wouter-preact';
import { short } from '../api';
import { Loading, Problem } from '../components';
import { useApi } from '../hooks';

interface Hit {
  digest: string;
  images: string[];
  package?: string;
  version?: string;
  vulnerability?: string;
  severity?: string;
  runningIn: string[];
}

export function Search() {
  const q = new URLSearchParams(useSearch()).get('q') ?? '';
  const { data, error } = useApi<{ kind: string; items: Hit[] }>(
    q ? `/api/v1/search?q=${encodeURIComponent(q)}` : null,
  );
  if (!q)
    return (
      <p>
        Search from the box above: a repository or tag, a digest, a package (log4j-core@2.14.1) or a
        vulnerability (CVE-…).
      </p>
    );
  if (error) return <Problem error={error} />;
  if (!data) return <Loading what="results" />;
  return (
    <>
      <h1>
        {data.items.length} image{data.items.length === 1 ? '' : 's'} for “{q}”
      </h1>
      <table class="results">
        <thead>
          <tr>
            <th scope="col">Image</th>
            {data.kind !== 'image' && (
              <th scope="col">{data.kind === 'package' ? 'Package' : 'Vulnerability'}</th>
            )}
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
              <td>{h.runningIn.join(', ') || <span class="muted">not deployed</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
