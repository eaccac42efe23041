import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';

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

/**
 * A risk number with its words (the CLI's --explain text, written by the server): a hover shows
 * them (title), and so does keyboard focus, as a tooltip a screen reader reads as its description.
 */
export function Risk({ score, explanation }: { score: number; explanation?: string | null }) {
  const id = useId();
  if (!explanation) return <span class="risk">risk {score.toFixed(1)}</span>;
  return (
    <span class="risk">
      <span
        class="risk-n"
        tabIndex={0}
        title={explanation}
        aria-describedby={id}
        data-risk-explained={explanation}
      >
        risk {score.toFixed(1)}
      </span>
      <span role="tooltip" id={id} class="risk-tip">
        Risk {score.toFixed(1)} is {explanation}.
      </span>
    </span>
  );
}
