import { Link } from 'wouter-preact';
import { Loading, Problem, when } from '../components';
import { useRoute } from '../client';

export function Alerts() {
  const { data, error } = useRoute('GET /api/v1/alerts');
  if (!data) return error ? <Problem error={error} /> : <Loading what="alerts" />;
  return (
    <>
      <h1>Alerts</h1>
      {data.length === 0 ? (
        <p class="empty" data-empty="alerts">
          No alerts yet. An alert is sent when a new finding that an environment's alert rules select
          (critical, KEV, EPSS) appears in an image running there, or when its policy newly fails; add where
          they go under <Link href="/settings">Settings, Alert channels</Link>.
        </p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Environment</th>
              <th scope="col">What</th>
              <th scope="col">Delivery</th>
            </tr>
          </thead>
          <tbody>
            {data.map((a) => (
              <tr key={a.id}>
                <td>{when(a.createdAt)}</td>
                <td>{a.environment}</td>
                <td>{a.summary ?? `${a.findings.map((f) => f.id).join(', ')} in ${a.image}`}</td>
                <td class={a.state === 'failed' ? 'bad' : ''}>
                  {a.state} after {a.attempts} attempt{a.attempts === 1 ? '' : 's'}
                  {a.lastError ? `: ${a.lastError}` : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
