import { may, type Session } from '../api';
import { Loading, Section } from '../components';
import { useApi } from '../hooks';

interface Gate {
  autoApprove: boolean;
  fourEyes: boolean;
  requireSignature: boolean;
  unknownImage: string;
  namespaces: string[];
  exceptionSignoff: boolean;
}

function EnvGate({ name }: { name: string }) {
  const { data } = useApi<Gate>(`/api/v1/environments/${name}/gate`);
  if (!data) return null;
  return (
    <tr>
      <td>{name}</td>
      <td>{data.autoApprove ? 'passes policy' : 'a person approves'}</td>
      <td>{data.fourEyes ? 'yes' : 'no'}</td>
      <td>{data.requireSignature ? 'required' : 'no'}</td>
      <td>{data.unknownImage}</td>
      <td>{data.namespaces.join(', ') || '—'}</td>
      <td>{data.exceptionSignoff ? 'yes' : 'no'}</td>
    </tr>
  );
}

export function Settings({ session }: { session: Session }) {
  const envs = useApi<Array<{ name: string }>>('/api/v1/environments');
  const admin = may(session, 'admin');
  const users = useApi<Array<{ id: number; name: string; role: string; environments: string[] | null }>>(
    admin ? '/api/v1/users' : null,
  );
  const tokens = useApi<
    Array<{ id: number; name: string; role: string; revokedAt: string | null; environments: string[] | null }>
  >(admin ? '/api/v1/tokens' : null);
  const registries = useApi<Array<{ host: string; url: string }>>(admin ? '/api/v1/registries' : null);
  const channels = useApi<Array<{ id: number; type: string; target: string; environments: string[] | null }>>(
    admin ? '/api/v1/channels' : null,
  );
  if (!envs.data) return <Loading what="settings" />;
  return (
    <>
      <h1>Settings</h1>
      <Section title="Environments and their gate">
        <table>
          <thead>
            <tr>
              <th scope="col">Environment</th>
              <th scope="col">Approval</th>
              <th scope="col">Four eyes</th>
              <th scope="col">Signature</th>
              <th scope="col">Unknown images</th>
              <th scope="col">Namespaces</th>
              <th scope="col">Exception sign-off</th>
            </tr>
          </thead>
          <tbody>
            {envs.data.map((e) => (
              <EnvGate key={e.name} name={e.name} />
            ))}
          </tbody>
        </table>
        <p class="muted">Changed through the API (PUT /api/v1/environments/NAME/gate, admin).</p>
      </Section>
      {admin && (
        <>
          <Section title="Users">
            <ul>
              {users.data?.map((u) => (
                <li key={u.id}>
                  {u.name}: {u.role}
                  {u.environments ? ` (${u.environments.join(', ')})` : ''}
                </li>
              ))}
            </ul>
          </Section>
          <Section title="Tokens">
            <ul>
              {tokens.data
                ?.filter((t) => !t.revokedAt && !t.name.startsWith('session:'))
                .map((t) => (
                  <li key={t.id}>
                    {t.name}: {t.role}
                    {t.environments ? ` (${t.environments.join(', ')})` : ''}
                  </li>
                ))}
            </ul>
          </Section>
          <Section title="Registries">
            <ul>
              {registries.data?.map((r) => (
                <li key={r.host}>{r.url}</li>
              ))}
            </ul>
          </Section>
          <Section title="Alert channels">
            <ul>
              {channels.data?.map((c) => (
                <li key={c.id}>
                  {c.type}: {c.target}
                  {c.environments ? ` (${c.environments.join(', ')})` : ''}
                </li>
              ))}
            </ul>
          </Section>
        </>
      )}
    </>
  );
}
