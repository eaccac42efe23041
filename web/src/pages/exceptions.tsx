import { useState } from 'preact/hooks';
import { may, type Session } from '../api';
import { Loading, Problem, when } from '../components';
import { call, useRoute } from '../client';

export function Exceptions({ session }: { session: Session }) {
  const { data, error, reload } = useRoute('GET /api/v1/exceptions');
  const [problem, setProblem] = useState<string>();
  const act = async (change: () => Promise<unknown>) => {
    setProblem(undefined);
    try {
      await change();
      reload();
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  if (!data) return <Loading what="exceptions" />;
  return (
    <>
      <h1>Exceptions</h1>
      <p class="muted">
        Export the ones in force as{' '}
        <a href="/api/v1/exceptions/export?format=customsignore">.customsignore.yaml</a> or{' '}
        <a href="/api/v1/exceptions/export?format=openvex">OpenVEX</a>.
      </p>
      <Problem error={problem ?? error} />
      {data.length === 0 ? (
        <p class="empty" data-empty="exceptions">
          No exceptions: every finding counts against its image. To waive one (with a reason and an expiry,
          for chosen environments), open the image and use “Add an exception”; an approver signs it off.
        </p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Waives</th>
              <th scope="col">For</th>
              <th scope="col">Environments</th>
              <th scope="col">Reason</th>
              <th scope="col">Expires</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.map((e) => (
              <tr key={e.id}>
                <td>
                  {e.vulnerability
                    ? `${e.vulnerability}${e.package ? ` in ${e.package}` : ''}`
                    : `rule ${e.rule}`}
                </td>
                <td>{e.digest ?? e.repository ?? 'every image'}</td>
                <td>{e.environments?.join(', ') ?? 'all'}</td>
                <td>{e.reason}</td>
                <td>{when(e.expiresAt)}</td>
                <td>
                  {e.state}
                  {e.approvedBy ? ` (by ${e.approvedByName ?? e.approvedBy})` : ''}
                  <div class="muted">asked by {e.createdByName ?? e.createdBy}</div>
                </td>
                <td>
                  {e.state === 'pending' && may(session, 'approve') && (
                    <button
                      type="button"
                      onClick={() =>
                        act(() => call('POST /api/v1/exceptions/:id/approve', { params: { id: e.id } }))
                      }
                    >
                      Sign off
                    </button>
                  )}{' '}
                  {(e.state === 'active' || e.state === 'pending') && may(session, 'report') && (
                    <button
                      type="button"
                      class="secondary"
                      onClick={() =>
                        act(() =>
                          call('POST /api/v1/exceptions/:id/revoke', {
                            params: { id: e.id },
                            body: { reason: 'revoked in the dashboard' },
                          }),
                        )
                      }
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
