import { useState } from 'preact/hooks';
import { Link } from 'wouter-preact';
import { may, short, type Session } from '../api';
import { Loading, Problem, Section, when } from '../components';
import { call, useRoute, type Answer } from '../client';

type Approval = Answer<'GET /api/v1/approvals'>[number];

export function Approvals({ session }: { session: Session }) {
  const queue = useRoute('GET /api/v1/approvals', { query: { state: 'requested' } });
  const all = useRoute('GET /api/v1/approvals');
  const [error, setError] = useState<string>();
  const decide = async (a: Approval, decision: 'approve' | 'reject') => {
    setError(undefined);
    const reason = window.prompt(`Reason to ${decision} for ${a.environment}`) ?? '';
    if (!reason) return;
    try {
      const names = await call('GET /api/v1/images/:digest', { params: { digest: a.digest } });
      const ref = names.refs[0];
      await call('POST /api/v1/approvals', {
        body: {
          image: `${ref.registry}/${ref.repository}@${a.digest}`,
          environment: a.environment,
          decision,
          reason,
        },
      });
      queue.reload();
      all.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  if (!queue.data) return <Loading what="approvals" />;
  return (
    <>
      <h1>Approvals</h1>
      <Problem error={error ?? queue.error} />
      <Section title="Waiting for a decision">
        {queue.data.length ? (
          <table>
            <thead>
              <tr>
                <th scope="col">Image</th>
                <th scope="col">Environment</th>
                <th scope="col">Asked by</th>
                <th scope="col">Why</th>
                <th scope="col">Decide</th>
              </tr>
            </thead>
            <tbody>
              {queue.data.map((a) => (
                <tr key={a.digest + a.environment}>
                  <td>
                    <Link href={`/images/${a.digest}?env=${a.environment}`}>@{short(a.digest)}</Link>
                  </td>
                  <td>{a.environment}</td>
                  <td>{a.requestedByName ?? a.requestedBy}</td>
                  <td>{a.requestReason}</td>
                  <td>
                    {may(session, 'approve', a.environment) ? (
                      <>
                        <button type="button" onClick={() => decide(a, 'approve')}>
                          Approve
                        </button>{' '}
                        <button type="button" class="secondary" onClick={() => decide(a, 'reject')}>
                          Reject
                        </button>
                      </>
                    ) : (
                      <span class="muted">an approver for {a.environment} decides</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="empty" data-empty="queue">
            Nothing is waiting for a decision. Requests arrive here when someone asks for an image to run in
            an environment whose gate needs an approval (customs request-approval, or the image page).
          </p>
        )}
      </Section>
      <Section title="Decisions">
        {!(all.data ?? []).some((a) => a.state !== 'requested') ? (
          <p class="empty" data-empty="decisions">
            No decisions yet: approvals, rejections and revocations are listed here with who made them and
            why.
          </p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Image</th>
                <th scope="col">Environment</th>
                <th scope="col">State</th>
                <th scope="col">By</th>
                <th scope="col">Reason</th>
                <th scope="col">When</th>
              </tr>
            </thead>
            <tbody>
              {(all.data ?? [])
                .filter((a) => a.state !== 'requested')
                .map((a) => (
                  <tr key={a.digest + a.environment}>
                    <td>
                      <Link href={`/images/${a.digest}?env=${a.environment}`}>@{short(a.digest)}</Link>
                    </td>
                    <td>{a.environment}</td>
                    <td>{a.state}</td>
                    <td>{a.decidedByName ?? a.decidedBy}</td>
                    <td>{a.decisionReason}</td>
                    <td>{when(a.decidedAt)}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
