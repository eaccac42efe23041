import { useEffect, useState } from 'preact/hooks';
import { signIn, type Session } from '../api';
import { call } from '../client';

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [sso, setSso] = useState(false);
  useEffect(() => {
    void call('GET /api/v1/auth/methods').then(
      (m) => setSso(m.oidc),
      () => undefined,
    );
  }, []);
  return (
    <main id="main" class="signin">
      <h1>Customs</h1>
      <p class="muted">Container images entering production: what runs, is it safe, what to fix first.</p>
      {sso && (
        <p>
          <a class="button" href="/api/v1/auth/oidc/login">
            Sign in with single sign-on
          </a>
        </p>
      )}
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          const f = e.currentTarget;
          const user = (f.elements.namedItem('username') as HTMLInputElement).value;
          const password = (f.elements.namedItem('password') as HTMLInputElement).value;
          setBusy(true);
          setError(undefined);
          try {
            onSignedIn(await signIn(user, password));
          } catch (err) {
            setError((err as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label for="username">User name</label>
        <input id="username" name="username" autoComplete="username" required />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autoComplete="current-password" required />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
