import { may, type Session } from '../api';
import { Loading, Problem, when } from '../components';
import { useRoute } from '../client';

export function Audit({ session }: { session: Session }) {
  const allowed = may(session, 'approve');
  const chain = useRoute(allowed ? 'GET /api/v1/audit/verify' : null);
  const log = useRoute(allowed ? 'GET /api/v1/audit' : null, { query: { limit: 200 } });
  if (!allowed) return <p>The audit log is for approvers and admins.</p>;
  if (!log.data || !chain.data) return <Loading what="the audit log" />;
  return (
    <>
      <h1>Audit log</h1>
      <Problem error={log.error ?? chain.error} />
      <p class={chain.data.ok ? 'ok' : 'bad'} data-chain={chain.data.ok ? 'ok' : 'broken'}>
        {chain.data.ok
          ? `Chain intact: ${chain.data.entries} entries, head ${chain.data.head.slice(0, 16)}…`
          : `Chain BROKEN at entry ${chain.data.broken?.seq}: ${chain.data.broken?.reason}`}
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">What</th>
            <th scope="col">Subject</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {log.data.map((e) => (
            <tr key={e.seq}>
              <td>{e.seq}</td>
              <td>{when(e.at)}</td>
              <td title={e.actor}>{e.actorName ?? e.actor}</td>
              <td>{e.action}</td>
              <td class="mono">{e.subject}</td>
              <td>
                {typeof e.details.reason === 'string'
                  ? e.details.reason
                  : JSON.stringify(e.details).slice(0, 120)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
