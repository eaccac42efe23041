import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { Link } from 'wouter-preact';
import { may, type Session } from '../api';
import { Loading, Problem, Section } from '../components';
import { call, useRoute, type Answer, type Body } from '../client';

// What a form's free text is sent as (the server validates it against the same schema).
type Exposure = Body<'POST /api/v1/environments'>['exposure'];
type PersonRole = Body<'POST /api/v1/users'>['role'];
type TokenRole = Body<'POST /api/v1/tokens'>['role'];

type Gate = Answer<'GET /api/v1/environments/:name/gate'>;
/** The gate's yes/no settings. */
type Flag = { [K in keyof Gate]-?: Gate[K] extends boolean ? K : never }[keyof Gate];

const FLAGS: Array<[Flag, string]> = [
  ['autoApprove', 'Approve what passes the policy'],
  ['fourEyes', 'Four eyes'],
  ['requireSignature', 'Require a trusted signature'],
  ['keepApprovalOnPolicyFailure', 'Keep approvals when a rescan fails the policy'],
  ['exceptionSignoff', 'Exceptions need sign-off'],
];

type Rule = Answer<'GET /api/v1/policy'>['environments'][string]['rules'][number];

function EnvGate({ name, admin, rules }: { name: string; admin: boolean; rules?: Rule[] }) {
  const { data, reload } = useRoute('GET /api/v1/environments/:name/gate', { params: { name } });
  const [error, setError] = useState<string>();
  if (!data) return null;
  const put = async (change: Body<'PUT /api/v1/environments/:name/gate'>) => {
    setError(undefined);
    try {
      await call('PUT /api/v1/environments/:name/gate', { params: { name }, body: change });
      reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <fieldset>
      <legend>{name}</legend>
      {FLAGS.map(([k, label]) => (
        <label key={k} class="check">
          <input
            type="checkbox"
            checked={!!data[k]}
            disabled={!admin}
            onChange={(e) => put({ [k]: e.currentTarget.checked })}
          />{' '}
          {label}
        </label>
      ))}
      <label class="check">
        Unknown images{' '}
        <select
          value={data.unknownImage}
          disabled={!admin}
          onChange={(e) => put({ unknownImage: e.currentTarget.value as 'deny' | 'allow' })}
        >
          <option value="deny">denied</option>
          <option value="allow">admitted</option>
        </select>
      </label>
      <p class="muted">Namespaces: {data.namespaces.join(', ') || `${name} (same name)`}</p>
      <p>
        Policy rules:{' '}
        {rules?.length ? (
          <span data-rules={name}>
            {rules.map((r) => `${r.id} (${r.check}, ${r.severity.toLowerCase()})`).join('; ')}
          </span>
        ) : (
          <span class="muted">none</span>
        )}
      </p>
      <Problem error={error} />
    </fieldset>
  );
}

/** A small form whose fields are posted as JSON; `shape` turns the form values into the body. */
function Create({
  title,
  fields,
  onSubmit,
}: {
  title: string;
  fields: Array<[string, string, string?]>;
  onSubmit: (v: Record<string, string>) => Promise<string | void>;
}) {
  const [error, setError] = useState<string>();
  const [note, setNote] = useState<string>();
  return (
    <details>
      <summary>{title}</summary>
      <form
        class="grid"
        onSubmit={async (e) => {
          e.preventDefault();
          const form = e.currentTarget;
          const v = Object.fromEntries(
            fields.map(([n]) => [n, (form.elements.namedItem(n) as HTMLInputElement).value.trim()]),
          );
          setError(undefined);
          try {
            setNote((await onSubmit(v)) ?? undefined);
            form.reset();
          } catch (err) {
            setError((err as Error).message);
          }
        }}
      >
        {fields.map(([n, label, type]) => (
          <Fragment key={n}>
            <label for={`f-${title}-${n}`}>{label}</label>
            <input id={`f-${title}-${n}`} name={n} type={type ?? 'text'} />
          </Fragment>
        ))}
        <button type="submit">{title}</button>
        <Problem error={error} />
        {note && (
          <p role="status" class="mono">
            {note}
          </p>
        )}
      </form>
    </details>
  );
}

const list = (v: string) =>
  v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export function Settings({ session }: { session: Session }) {
  const envs = useRoute('GET /api/v1/environments');
  const policy = useRoute('GET /api/v1/policy');
  const admin = may(session, 'admin');
  const users = useRoute(admin ? 'GET /api/v1/users' : null);
  const tokens = useRoute(admin ? 'GET /api/v1/tokens' : null);
  const registries = useRoute(admin ? 'GET /api/v1/registries' : null);
  const channels = useRoute(admin ? 'GET /api/v1/channels' : null);
  if (!envs.data) return <Loading what="settings" />;
  return (
    <>
      <h1>Settings</h1>
      <p>
        How images reach Customs (registry webhooks, CI uploads, deployments):{' '}
        <Link href="/getting-started">getting started</Link>.
      </p>
      <Section title="Environments and their gate">
        {envs.data.map((e) => (
          <EnvGate
            key={e.name}
            name={e.name}
            admin={admin}
            rules={policy.data?.environments[e.name]?.rules}
          />
        ))}
        {!admin && <p class="muted">Only admins change these.</p>}
        {admin && (
          <Create
            title="Add an environment"
            fields={[
              ['name', 'Name (lower case)'],
              ['exposure', 'Exposure (internet or internal)'],
            ]}
            onSubmit={async (v) => {
              // The form's text goes as typed: the server refuses an exposure it does not know.
              await call('POST /api/v1/environments', {
                body: { name: v.name, exposure: v.exposure as Exposure },
              });
              envs.reload();
            }}
          />
        )}
      </Section>
      {admin && (
        <>
          <Section title="Users">
            <ul>
              {users.data?.map((u) => (
                <li key={u.id}>
                  {u.name}{' '}
                  <label class="sr-only" for={`role-${u.id}`}>
                    Role of {u.name}
                  </label>
                  <select
                    id={`role-${u.id}`}
                    value={u.role}
                    onChange={async (e) => {
                      await call('PUT /api/v1/users/:id', {
                        params: { id: u.id },
                        body: { role: e.currentTarget.value as PersonRole },
                      });
                      users.reload();
                    }}
                  >
                    {['viewer', 'developer', 'approver', 'admin'].map((r) => (
                      <option key={r} value={r}>
                        {r}
                      </option>
                    ))}
                  </select>
                  {u.environments ? ` (${u.environments.join(', ')})` : ''}
                </li>
              ))}
            </ul>
            <Create
              title="Add a user"
              fields={[
                ['name', 'Name'],
                ['role', 'Role (viewer, developer, approver, admin)'],
                ['environments', 'Environments (comma-separated; empty: all)'],
                ['password', 'Password (12 characters or more)', 'password'],
              ]}
              onSubmit={async (v) => {
                await call('POST /api/v1/users', {
                  body: {
                    name: v.name,
                    role: v.role as PersonRole,
                    password: v.password,
                    ...(v.environments ? { environments: list(v.environments) } : {}),
                  },
                });
                users.reload();
              }}
            />
          </Section>
          <Section title="API tokens">
            <ul>
              {tokens.data
                ?.filter((t) => !t.revokedAt && !t.name.startsWith('session:'))
                .map((t) => (
                  <li key={t.id}>
                    {t.name}: {t.role}
                    {t.environments ? ` (${t.environments.join(', ')})` : ''}
                    {t.createdBy ? `, issued by ${t.createdBy}` : ''}{' '}
                    <button
                      type="button"
                      class="link"
                      onClick={async () => {
                        await call('DELETE /api/v1/tokens/:id', { params: { id: t.id } });
                        tokens.reload();
                      }}
                    >
                      revoke
                    </button>
                  </li>
                ))}
            </ul>
            <Create
              title="Issue a token"
              fields={[
                ['name', 'What it is for (empty: your name)'],
                ['role', 'Role (viewer, developer, approver, admin, webhook, admission)'],
                ['expires', 'Expires in (30d, 12h; empty: never)'],
              ]}
              onSubmit={async (v) => {
                const t = await call('POST /api/v1/tokens', {
                  body: {
                    ...(v.name ? { name: v.name } : {}),
                    role: v.role as TokenRole,
                    ...(v.expires ? { expires: v.expires } : {}),
                  },
                });
                tokens.reload();
                return `The token (shown once): ${t.token}`;
              }}
            />
          </Section>
          <Section title="Registries">
            <ul>
              {registries.data?.map((r) => (
                <li key={r.host}>{r.url}</li>
              ))}
            </ul>
            <Create
              title="Add a registry"
              fields={[
                ['url', 'URL (https://…)'],
                ['username', 'User name (optional)'],
                ['password', 'Password or token (optional)', 'password'],
              ]}
              onSubmit={async (v) => {
                await call('POST /api/v1/registries', {
                  body: { url: v.url, ...(v.username ? { username: v.username, password: v.password } : {}) },
                });
                registries.reload();
              }}
            />
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
            <Create
              title="Add a channel"
              fields={[
                ['type', 'Type (webhook, slack, teams, email)'],
                ['target', 'URL, or email address'],
                ['secret', 'Signing secret (webhook, optional)', 'password'],
              ]}
              onSubmit={async (v) => {
                await call('POST /api/v1/channels', {
                  body: {
                    type: v.type,
                    ...(v.type === 'email' ? { to: v.target } : { url: v.target }),
                    ...(v.secret ? { secret: v.secret } : {}),
                  },
                });
                channels.reload();
              }}
            />
          </Section>
        </>
      )}
    </>
  );
}
