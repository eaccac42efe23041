import type { ComponentChildren } from 'preact';

/**
 * A grade, marked "not covered" when the database had no (or no fresh) advisories for part of the
 * image: its letter then says nothing about that part (docs/scanning.md, "Coverage").
 */
export function Grade({ grade, uncovered }: { grade?: string | null; uncovered?: string[] | null }) {
  if (!grade) return <span class="muted">—</span>;
  const nc = !!uncovered?.length;
  return (
    <span
      class={`grade grade-${grade}${nc ? ' grade-nc' : ''}`}
      aria-label={`grade ${grade}${nc ? ', not covered' : ''}`}
      title={nc ? `not covered by the database: ${uncovered!.join(', ')}` : undefined}
    >
      {grade}
      {nc && <span class="not-covered"> not covered</span>}
    </span>
  );
}

export function Status({ allowed, status }: { allowed: boolean; status: string }) {
  return (
    <span class={`status ${allowed ? 'ok' : 'bad'}`} title={status}>
      {allowed ? '✓ ' : '✗ '}
      {status}
    </span>
  );
}

export function Severity({ level }: { level: string }) {
  return <span class={`sev sev-${level.toLowerCase()}`}>{level}</span>;
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function Problem({ error }: { error?: string }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

export function Section({
  title,
  children,
  id,
}: {
  title: string;
  children: ComponentChildren;
  id?: string;
}) {
  return (
    <section aria-labelledby={id ?? slug(title)}>
      <h2 id={id ?? slug(title)}>{title}</h2>
      {children}
    </section>
  );
}

export const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-');

export const when = (iso?: string | null) => (iso ? new Date(iso).toLocaleString() : '—');
