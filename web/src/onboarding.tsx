import { useState } from 'preact/hooks';
import { may, type Session } from './api';
import { call, useRoute, type Body } from './client';
import { Problem } from './components';

/**
 * What an empty dashboard shows: the three ways images reach Customs, each a snippet to copy with
 * this server's address filled in (docs/server.md, "Ingest"). A token made here goes into the
 * snippets; it is shown once, like every token.
 */

function Snippet({ id, label, text }: { id: string; label: string; text: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="snippet">
      <pre id={id}>
        <code>{text}</code>
      </pre>
      <button
        type="button"
        class="secondary"
        aria-describedby={id}
        onClick={async () => {
          try {
            await navigator.clipboard.writeText(text);
            setCopied(true);
          } catch {
            // No clipboard (an insecure context): select the text for Ctrl+C instead.
            const range = document.createRange();
            range.selectNodeContents(document.getElementById(id)!);
            const sel = getSelection();
            sel?.removeAllRanges();
            sel?.addRange(range);
          }
        }}
      >
        {copied ? 'Copied' : `Copy: ${label}`}
      </button>
    </div>
  );
}

/**
 * `session` when the caller has it, else the panel asks who is signed in (one line renders it
 * anywhere); `title` for where images exist already (the getting-started page).
 */
export function Onboarding({
  session,
  title = 'No images yet: three ways in',
}: {
  session?: Session;
  title?: string;
}) {
  const asked = useRoute(session ? null : 'GET /api/v1/auth/session');
  const who = session ?? asked.data;
  const origin = location.origin;
  const [token, setToken] = useState<string>();
  const [error, setError] = useState<string>();
  const t = token ?? '$CUSTOMS_TOKEN';
  const makeToken = async (name: string, role: Body<'POST /api/v1/tokens'>['role']) => {
    setError(undefined);
    try {
      setToken((await call('POST /api/v1/tokens', { body: { name, role } })).token);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const admin = !!who && may(who, 'admin');
  return (
    <section class="onboarding" aria-labelledby="onboarding">
      <h2 id="onboarding">{title}</h2>
      <p>
        Customs learns about images from your registry, from CI and from where they run. Any one of these is
        enough to start; most teams use all three.
      </p>
      {admin ? (
        <p>
          <button type="button" onClick={() => makeToken('ci', 'developer')}>
            Create a CI token
          </button>{' '}
          <button type="button" class="secondary" onClick={() => makeToken('registry', 'webhook')}>
            Create a registry webhook token
          </button>
        </p>
      ) : (
        <p class="muted">An admin issues the tokens these snippets need (Settings, API tokens).</p>
      )}
      {token && (
        <p role="status" class="token-shown">
          The token, shown once and filled in below: <code class="mono">{token}</code>
        </p>
      )}
      <Problem error={error} />
      <ol class="ways">
        <li>
          <h3>Connect a registry</h3>
          <p>
            Add it under Settings, Registries (the server pulls only from registries added there), then have
            it notify Customs on every push. For a CNCF Distribution registry (docker-registry), in its{' '}
            <code>config.yml</code>, with a token of role <code>webhook</code>:
          </p>
          <Snippet
            id="snippet-registry"
            label="registry webhook configuration"
            text={`notifications:
  endpoints:
    - name: customs
      url: ${origin}/webhooks/distribution
      headers:
        Authorization: [Bearer ${t}]
      timeout: 5s
      threshold: 5
      backoff: 10s`}
          />
          <p class="muted">
            Harbor, GitHub Packages, Azure Container Registry and Docker Hub have receivers too
            (/webhooks/harbor, /github, /acr, /dockerhub); registries without webhooks can be watched
            (Settings, or POST /api/v1/watches).
          </p>
        </li>
        <li>
          <h3>Upload from CI</h3>
          <p>
            Scan in the pipeline as usual and send the result here, with a token of role{' '}
            <code>developer</code>:
          </p>
          <Snippet
            id="snippet-ci"
            label="CI upload command"
            text={`customs image registry.example.com/team/app:1.0 --report-to ${origin} --token ${t}`}
          />
        </li>
        <li>
          <h3>Record deployments</h3>
          <p>From the deployment pipeline, by digest (what actually runs):</p>
          <Snippet
            id="snippet-deploy"
            label="deployment record command"
            text={`customs deploy record registry.example.com/team/app@sha256:… --env production --server ${origin} --token ${t}`}
          />
          <p>Or let the server read the cluster itself:</p>
          <Snippet
            id="snippet-kube"
            label="cluster inventory command"
            text="customs server --kube-inventory ~/.kube/config"
          />
        </li>
      </ol>
    </section>
  );
}
