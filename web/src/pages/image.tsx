import { useState } from 'preact/hooks';
import { Link, useLocation, useSearch } from 'wouter-preact';
import { may, short, type Session } from '../api';
import { Grade, Loading, Problem, Section, Severity, Status, when } from '../components';
import { call, useRoute, type Answer, type Body } from '../client';

type View = Answer<'GET /api/v1/images/:digest/view'>;
type Decision = View['decisions'][number];

/** Newer base images the server found in its registries, each with what it would remove. */
function BaseCandidates({ digest }: { digest: string }) {
  const { data, error } = useRoute('GET /api/v1/images/:digest/base-candidates', { params: { digest } });
  if (error) return <Problem error={error} />;
  if (!data) return <Loading what="newer base images" />;
  return (
    <div class="bases" data-bases>
      <h3 id="bases">Newer base images</h3>
      {data.candidates.length ? (
        <ul aria-labelledby="bases">
          {data.candidates.map((c) => (
            <li key={c.image} data-candidate={c.image}>
              <span class="mono">{c.image}</span> ({c.os ?? 'unknown OS'}
              {c.supported ? '' : ', end of life'}): removes {c.removes} finding{c.removes === 1 ? '' : 's'}
              {c.removed.length
                ? ` (${c.removed.join(', ')}${c.removes > c.removed.length ? ', …' : ''})`
                : ''}
              , carries {c.carries}
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">
          {data.looked.length
            ? `No newer base image of this distribution is scanned yet in ${data.looked.join(', ')}.`
            : 'No repository of this distribution is known in the configured registries: push or watch one (e.g. library/alpine) to get suggestions here.'}
        </p>
      )}
      {data.pending.length > 0 && (
        <p class="muted" data-pending>
          Being scanned, shown when done: {data.pending.join(', ')}.
        </p>
      )}
      {!!data.unscanned?.length && (
        <p class="muted" data-unscanned>
          Not scanned yet: {data.unscanned.join(', ')}. Someone who may request scans (a developer) gets them
          scanned by opening this page.
        </p>
      )}
      {data.problems.length > 0 && <p class="muted">Not looked at: {data.problems.join('; ')}.</p>}
    </div>
  );
}

function Decide({
  d,
  digest,
  image,
  session,
  onDone,
}: {
  d: Decision;
  digest: string;
  image: string;
  session: Session;
  onDone: () => void;
}) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string>();
  if (!may(session, 'approve', d.environment)) return null;
  const act = async (decision: Body<'POST /api/v1/approvals'>['decision']) => {
    setError(undefined);
    try {
      await call('POST /api/v1/approvals', {
        body: {
          image: `${image}@${digest}`,
          environment: d.environment,
          decision,
          reason: reason || `${decision} (dashboard)`,
        },
      });
      onDone();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <div class="decide">
      <label for={`reason-${d.environment}`} class="sr-only">
        Reason for {d.environment}
      </label>
      <input
        id={`reason-${d.environment}`}
        placeholder="reason (kept in the audit log)"
        value={reason}
        onInput={(e) => setReason(e.currentTarget.value)}
      />
      {d.status === 'approved' ? (
        <button type="button" class="secondary" onClick={() => act('revoke')}>
          Revoke approval for {d.environment}
        </button>
      ) : (
        <>
          <button type="button" onClick={() => act('approve')}>
            Approve for {d.environment}
          </button>
          <button type="button" class="secondary" onClick={() => act('reject')}>
            Reject
          </button>
        </>
      )}
      <Problem error={error} />
    </div>
  );
}

function NewException({
  env,
  session,
  onDone,
  image,
}: {
  env: string;
  session: Session;
  onDone: () => void;
  image: string;
}) {
  const [error, setError] = useState<string>();
  if (!may(session, 'report')) return null;
  return (
    <details>
      <summary>Add an exception</summary>
      <form
        class="grid"
        onSubmit={async (e) => {
          e.preventDefault();
          const f = e.currentTarget.elements;
          const val = (n: string) => (f.namedItem(n) as HTMLInputElement).value.trim();
          setError(undefined);
          try {
            await call('POST /api/v1/exceptions', {
              body: {
                vulnerability: val('vulnerability'),
                ...(val('package') ? { package: val('package') } : {}),
                ...(val('scope') === 'repository' ? { repository: image } : {}),
                environments: [env],
                reason: val('reason'),
                expiresAt: new Date(`${val('expires')}T23:59:59Z`).toISOString(),
              },
            });
            onDone();
          } catch (err) {
            setError((err as Error).message);
          }
        }}
      >
        <label for="ex-vuln">Vulnerability</label>
        <input id="ex-vuln" name="vulnerability" required placeholder="CVE-…" />
        <label for="ex-pkg">Package (optional)</label>
        <input id="ex-pkg" name="package" />
        <label for="ex-scope">For</label>
        <select id="ex-scope" name="scope">
          <option value="repository">this repository</option>
          <option value="all">every image</option>
        </select>
        <label for="ex-reason">Reason</label>
        <input id="ex-reason" name="reason" required />
        <label for="ex-expires">Expires</label>
        <input id="ex-expires" name="expires" type="date" required />
        <button type="submit">Add exception for {env}</button>
        <Problem error={error} />
      </form>
    </details>
  );
}

export function ImagePage({ digest, session }: { digest: string; session: Session }) {
  const params = new URLSearchParams(useSearch());
  const env = params.get('env') ?? 'production';
  const [, navigate] = useLocation();
  const {
    data: v,
    error,
    reload,
  } = useRoute('GET /api/v1/images/:digest/view', {
    params: { digest },
    query: { environment: env },
  });
  const [filter, setFilter] = useState('');
  const [other, setOther] = useState('');
  if (error) return <Problem error={error} />;
  if (!v) return <Loading what="the image" />;
  const image = v.names[0] ?? '';
  const pkgs = v.packages.filter((p) => !filter || `${p.name} ${p.version}`.includes(filter));
  const parts = v.coverage ? [...(v.coverage.os ? [v.coverage.os] : []), ...v.coverage.ecosystems] : [];
  const gaps = parts.filter((p) => p.status !== 'covered');
  return (
    <>
      <h1>
        {image || 'image'} <span class="mono">@{short(digest)}</span>
      </h1>
      <p class="summary">
        <Grade grade={v.scan?.grade} uncovered={gaps.map((g) => g.name)} />{' '}
        <span data-risk-explained title={v.risk.explanation}>
          risk {v.risk.score.toFixed(1)}
        </span>{' '}
        · {v.findings.length} findings{gaps.length ? ' where the database has data' : ''} ({v.summary.kev}{' '}
        KEV, {v.summary.fixable} fixable)
        {v.waived?.total ? (
          <span data-waived={v.waived.total}>
            {' '}
            · {v.waived.total} waived by exceptions in {env} ({v.waived.kev} KEV, {v.waived.fixable} fixable)
          </span>
        ) : null}{' '}
        · {v.suppressed.length} suppressed · {v.image.os ?? 'no OS found'} · tags {v.tags.join(', ') || '—'} ·
        scanned {when(v.scan?.scannedAt)}
      </p>
      <p class="muted risk-why">
        Risk {v.risk.score.toFixed(1)} is {v.risk.explanation}.
      </p>
      {v.warnings.length > 0 && (
        <ul class="scan-warnings" aria-label="What the scan warned about">
          {v.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      {gaps.length > 0 && (
        <p class="coverage-gap" data-coverage="incomplete">
          <strong>Not covered:</strong>{' '}
          {gaps.map((g) => `${g.name}: ${g.status.replace('-', ' ')} (${g.detail})`).join('; ')}. No finding
          there means nothing was checked, not nothing found.
        </p>
      )}
      {parts.length > 0 && (
        <details>
          <summary>Coverage: {gaps.length ? 'incomplete' : 'complete'}</summary>
          <table>
            <caption class="sr-only">What the database covers of this image</caption>
            <thead>
              <tr>
                <th scope="col">Part</th>
                <th scope="col">Packages</th>
                <th scope="col">Status</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {parts.map((p) => (
                <tr key={p.name}>
                  <td>{p.name}</td>
                  <td>{p.packages}</td>
                  <td>{p.status.replace('-', ' ')}</td>
                  <td>{p.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
      <p class="provenance" data-provenance={v.provenance.kind}>
        {v.provenance.kind === 'server-scan' ? (
          <>
            Read by the server itself ({v.provenance.by ?? 'scan'}, {when(v.provenance.at)})
          </>
        ) : (
          <strong>
            {v.provenance.kind === 'reported'
              ? `Reported by ${v.provenance.by ?? 'a client'}`
              : 'From an attested SBOM'}
            , {when(v.provenance.at)}: not verified by the server until it scans the image itself
          </strong>
        )}
      </p>
      <label for="env">Environment</label>{' '}
      <select
        id="env"
        value={env}
        onChange={(e) => navigate(`/images/${digest}?env=${e.currentTarget.value}`)}
      >
        {v.decisions.map((d) => (
          <option key={d.environment} value={d.environment}>
            {d.environment}
          </option>
        ))}
      </select>
      <Section title="May it run?">
        <table>
          <thead>
            <tr>
              <th scope="col">Environment</th>
              <th scope="col">Decision</th>
              <th scope="col">Why</th>
              <th scope="col">Signature</th>
            </tr>
          </thead>
          <tbody>
            {v.decisions.map((d) => (
              <tr key={d.environment} data-decision={d.environment}>
                <td>{d.environment}</td>
                <td>
                  <Status allowed={d.allowed} status={d.status} />
                </td>
                <td>
                  {d.reasons.join('; ')}
                  <Decide d={d} digest={digest} image={image} session={session} onDone={reload} />
                </td>
                <td>{d.trust ? (d.trust.trusted ? '✓ ' : '✗ ') + d.trust.reason : 'not required'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="What to fix first">
        {v.image.base && (
          <p data-base>
            Base image: {v.image.os}
            {v.image.base.eol
              ? v.image.base.endOfLife
                ? ` — end of life since ${v.image.base.eol}: move to a supported release`
                : ` — supported until ${v.image.base.eol}`
              : ''}
            {v.image.base.releasesBehind ? `; ${v.image.base.releasesBehind} newer release(s) exist` : ''}
          </p>
        )}
        {v.advice.plan.length ? (
          <ol>
            {v.advice.plan.map((s) => (
              <li key={s}>{s}</li>
            ))}
          </ol>
        ) : (
          <p class="muted">The {env} policy passes.</p>
        )}
        <BaseCandidates digest={digest} />
        {v.advice.upgrades.length > 0 && (
          <ul>
            {v.advice.upgrades.slice(0, 10).map((u) => (
              <li key={u.package}>
                upgrade {u.package} {u.from} → {u.to} ({u.fixes.length} fixed
                {u.inBase ? ', in the base image' : ''})
              </li>
            ))}
          </ul>
        )}
      </Section>
      <Section title="Findings, riskiest first">
        <NewException env={env} session={session} onDone={reload} image={image} />
        {v.findings.length === 0 && (
          <p class="empty" data-empty="findings">
            {!v.coverage
              ? 'No vulnerabilities found, but this result does not say what the database covered: treat it as unchecked until the next scan.'
              : gaps.length
                ? `No vulnerabilities found where the database has data. ${gaps.map((g) => g.name).join(', ')}: not covered, so nothing was checked there.`
                : 'No vulnerabilities found: the database covers every part of this image.'}
            {v.suppressed.length ? ` ${v.suppressed.length} suppressed (below).` : ''}
          </p>
        )}
        {v.findings.length > 0 && (
          <table class="findings">
            <thead>
              <tr>
                <th scope="col">Vulnerability</th>
                <th scope="col">Severity</th>
                <th scope="col">Package</th>
                <th scope="col">Fixed in</th>
                <th scope="col">Risk</th>
              </tr>
            </thead>
            <tbody>
              {v.findings.map((f) => (
                <tr key={f.id + f.package.name + f.package.version}>
                  <td>
                    {f.id}
                    {f.kev ? <span class="kev"> KEV</span> : null}
                  </td>
                  <td>
                    <Severity level={f.severity.level} />
                  </td>
                  <td>
                    {f.package.name} {f.package.version}
                  </td>
                  <td>{f.fixedVersion ?? <span class="muted">no fix</span>}</td>
                  <td>
                    <details>
                      <summary>
                        {f.risk.score.toFixed(1)}
                        <span class="sr-only"> (why)</span>
                      </summary>
                      <p class="risk-why">{f.risk.explanation}</p>
                    </details>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {v.suppressed.length > 0 && (
          <>
            <h3 id="suppressed">Suppressed ({v.suppressed.length})</h3>
            <table aria-labelledby="suppressed" class="suppressed">
              <tbody>
                {v.suppressed.map((f) => (
                  <tr key={f.id + f.package.name}>
                    <td>{f.id}</td>
                    <td>
                      {f.package.name} {f.package.version}
                    </td>
                    <td>
                      suppressed by {f.suppression?.by}: {f.suppression?.reason} ({f.suppression?.source})
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </Section>
      {(v.secrets.length > 0 || v.misconfigurations.length > 0) && (
        <Section title="Secrets and configuration">
          <ul>
            {v.secrets.map((s, i) => (
              <li key={`s${i}`}>
                <Severity level={s.severity} /> {s.title ?? s.rule} {s.path ? `in ${s.path}` : ''}
              </li>
            ))}
            {v.misconfigurations.map((m) => (
              <li key={m.rule}>
                <Severity level={m.severity} /> {m.title}: {m.fix}
              </li>
            ))}
          </ul>
        </Section>
      )}
      <Section title="Layers">
        <ol class="layers">
          {v.image.layers.map((l) => (
            <li key={l.index}>
              <span class="mono">{l.createdBy ?? '(no history)'}</span>{' '}
              <span class="muted">{l.base ? 'base' : 'application'}</span>
            </li>
          ))}
        </ol>
      </Section>
      <Section title={`Packages (${v.packages.length})`} id="packages">
        <label for="pkg-filter">Filter</label>{' '}
        <input id="pkg-filter" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
        <table>
          <thead>
            <tr>
              <th scope="col">Package</th>
              <th scope="col">Version</th>
              <th scope="col">Type</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {pkgs.slice(0, 300).map((p) => (
              <tr key={p.type + p.name + p.version}>
                <td>{p.name}</td>
                <td>{p.version}</td>
                <td>{p.type}</td>
                <td>{p.origin}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {pkgs.length > 300 && <p class="muted">{pkgs.length - 300} more: narrow the filter.</p>}
      </Section>
      {v.image.attestations.length > 0 && (
        <Section title="Attestations">
          <ul>
            {v.image.attestations.map((a, i) => (
              <li key={i}>
                {a.kind}: {a.type}
                {a.provenance
                  ? ` (builder ${a.provenance.builder ?? '?'}, source ${a.provenance.sourceRepo ?? '?'})`
                  : ''}
              </li>
            ))}
          </ul>
        </Section>
      )}
      <Section title="Compare">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (/^sha256:[a-f0-9]{64}$/.test(other)) navigate(`/compare?from=${other}&to=${digest}`);
          }}
        >
          <label for="other">Compare with digest</label>{' '}
          <input
            id="other"
            class="mono"
            size={40}
            value={other}
            onInput={(e) => setOther(e.currentTarget.value.trim())}
            placeholder="sha256:…"
          />{' '}
          <button type="submit">Compare</button>
        </form>
        <p>
          <Link href={`/search?q=${encodeURIComponent(v.names[0]?.split('/').slice(1).join('/') ?? '')}`}>
            Other images of this repository
          </Link>
        </p>
      </Section>
    </>
  );
}
