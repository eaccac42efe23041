import { Link, useSearch } from 'wouter-preact';
import { short } from '../api';
import { Grade, Loading, Problem, Section, Severity } from '../components';
import { useRoute, type Answer } from '../client';

type Ref = Answer<'GET /api/v1/compare'>['vulnerabilities']['fixed'][number];

function List({ items, empty }: { items: Ref[]; empty: string }) {
  if (!items.length) return <p class="muted">{empty}</p>;
  return (
    <ul>
      {items.map((f) => (
        <li key={f.id + f.package}>
          <Severity level={f.severity} /> {f.id} in {f.package} {f.version}
          {f.fixedVersion ? ` (fixed in ${f.fixedVersion})` : ''}
        </li>
      ))}
    </ul>
  );
}

export function Compare() {
  const q = new URLSearchParams(useSearch());
  const from = q.get('from') ?? '';
  const to = q.get('to') ?? '';
  const { data: c, error } = useRoute(from && to ? 'GET /api/v1/compare' : null, { query: { from, to } });
  if (!from || !to) return <p>Choose two images to compare (from an image page or the overview).</p>;
  if (error) return <Problem error={error} />;
  if (!c) return <Loading what="the comparison" />;
  return (
    <>
      <h1>What changed</h1>
      <p>
        From <Link href={`/images/${from}`}>@{short(from)}</Link> <Grade grade={c.from.grade} /> (risk{' '}
        {c.from.risk.toFixed(1)}) to <Link href={`/images/${to}`}>@{short(to)}</Link>{' '}
        <Grade grade={c.to.grade} /> (risk {c.to.risk.toFixed(1)})
        {c.baseImageChanged ? ' · the base image changed' : ''}
      </p>
      <ul class="muted risk-why" data-risk-explained>
        <li>
          Risk {c.from.risk.toFixed(1)} before is {c.from.riskExplanation}.
        </li>
        <li>
          Risk {c.to.risk.toFixed(1)} after is {c.to.riskExplanation}.
        </li>
      </ul>
      <Section title={`Fixed (${c.vulnerabilities.fixed.length})`} id="fixed">
        <List items={c.vulnerabilities.fixed} empty="Nothing fixed." />
      </Section>
      <Section title={`Introduced (${c.vulnerabilities.introduced.length})`} id="introduced">
        <List items={c.vulnerabilities.introduced} empty="Nothing introduced." />
      </Section>
      <Section title="Packages">
        <ul>
          {c.packages.changed.map((p) => (
            <li key={`c${p.name}`}>
              {p.name} {p.from} → {p.version}
            </li>
          ))}
          {c.packages.added.map((p) => (
            <li key={`a${p.name}`}>
              + {p.name} {p.version}
            </li>
          ))}
          {c.packages.removed.map((p) => (
            <li key={`r${p.name}`}>
              − {p.name} {p.version}
            </li>
          ))}
        </ul>
        <p class="muted">{c.vulnerabilities.unchanged} vulnerabilities unchanged.</p>
      </Section>
    </>
  );
}
