import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Link, Route, Switch, useLocation } from 'wouter-preact';
import { currentSession, signOut, type Session } from './api';
import { Approvals } from './pages/approvals';
import { Audit } from './pages/audit';
import { Compare } from './pages/compare';
import { Exceptions } from './pages/exceptions';
import { Alerts } from './pages/alerts';
import { ImagePage } from './pages/image';
import { Overview } from './pages/overview';
import { Search } from './pages/search';
import { Settings } from './pages/settings';
import { SignIn } from './pages/signin';
import { Onboarding } from './onboarding';
import { prefetch } from './hooks';
import './style.css';

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [location, navigate] = useLocation();
  useEffect(() => {
    void currentSession().then(setSession);
  }, []);
  // The boot line of index.html stays until the session is known (no blank page in between).
  if (session === undefined) return <p class="boot">Customs: loading…</p>;
  if (!session) return <SignIn onSignedIn={setSession} />;
  const nav = [
    ['/', 'Overview'],
    ['/approvals', 'Approvals'],
    ['/exceptions', 'Exceptions'],
    ['/alerts', 'Alerts'],
    ['/audit', 'Audit log'],
    ['/settings', 'Settings'],
  ];
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <strong class="brand">Customs</strong>
        <nav aria-label="Main">
          {nav.map(([href, label]) => (
            <Link
              key={href}
              href={href}
              class={(href === '/' ? location === '/' : location.startsWith(href)) ? 'active' : ''}
              aria-current={
                (href === '/' ? location === '/' : location.startsWith(href)) ? 'page' : undefined
              }
            >
              {label}
            </Link>
          ))}
        </nav>
        <form
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            const q = (e.currentTarget.elements.namedItem('q') as HTMLInputElement).value.trim();
            if (q) navigate(`/search?q=${encodeURIComponent(q)}`);
          }}
        >
          <label for="q" class="sr-only">
            Search images, packages or vulnerabilities
          </label>
          <input id="q" name="q" type="search" placeholder="repository, log4j-core@2.14.1, CVE-…" />
        </form>
        <span class="who" aria-label="Signed in as">
          {session.name} <span class="muted">({session.role})</span>
        </span>
        <button
          type="button"
          class="link"
          onClick={async () => {
            await signOut();
            setSession(null);
            navigate('/');
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Switch>
          <Route path="/">{() => <Overview session={session} />}</Route>
          <Route path="/images/:digest">
            {(p) => <ImagePage digest={decodeURIComponent(p.digest)} session={session} />}
          </Route>
          <Route path="/compare">{() => <Compare />}</Route>
          <Route path="/approvals">{() => <Approvals session={session} />}</Route>
          <Route path="/exceptions">{() => <Exceptions session={session} />}</Route>
          <Route path="/alerts">{() => <Alerts />}</Route>
          <Route path="/audit">{() => <Audit session={session} />}</Route>
          <Route path="/settings">{() => <Settings session={session} />}</Route>
          <Route path="/search">{() => <Search />}</Route>
          <Route path="/getting-started">
            {() => (
              <>
                <h1>Getting started</h1>
                <Onboarding session={session} title="Three ways images reach Customs" />
              </>
            )}
          </Route>
          <Route>{() => <p>No such page.</p>}</Route>
        </Switch>
      </main>
    </>
  );
}

// The overview's data is asked for beside the session, not after it: one round trip less before
// the table (a signed-out visitor has no marker cookie and asks for nothing).
if (location.pathname === '/' && document.cookie.includes('customs_signed_in=1'))
  prefetch('/api/v1/overview');

render(<App />, document.getElementById('app')!);
