import { baseLayerCount, upgrades } from '../advise/advise.js';
import type { Finding, ScanResult } from '../model/scan.js';
import { coverageWarning } from '../secrets/scan.js';
import { coverageGaps, coverageParts, gradeLabel, noFindingsText } from '../scan/coverage.js';
import { locationOf, statusOf, summaryLine } from './scan-table.js';

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const LEVELS = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'] as const;
const RANK: Record<string, number> = { CRITICAL: 5, HIGH: 4, MEDIUM: 3, LOW: 2, UNKNOWN: 1, NONE: 0 };

/*
 * The page's own behaviour: filters (text, severity, base/application, fixable, known exploited)
 * and sorting, over rows marked with data- attributes. Inline, like the styles, so the report is
 * one file that opens anywhere (a CI artifact, an e-mail) and loads nothing from elsewhere.
 */
const SCRIPT = `
(() => {
  const $ = (s, r = document) => [...r.querySelectorAll(s)];
  const form = document.getElementById('filters');
  const apply = () => {
    const q = form.q.value.trim().toLowerCase();
    const min = Number(form.sev.value);
    const where = form.layer.value;
    let shown = 0;
    for (const tr of $('tr.finding')) {
      const d = tr.dataset;
      const ok = Number(d.sev) >= min && (!q || d.text.includes(q)) && (where === 'all' || d.layer === where) &&
        (!form.fix.checked || d.fix === '1') && (!form.kev.checked || d.kev === '1');
      tr.hidden = !ok;
      if (ok) shown++;
    }
    for (const p of $('.pkg')) p.hidden = !$('tr.finding', p).some((tr) => !tr.hidden);
    for (const g of $('.group')) g.hidden = !$('.pkg', g).some((p) => !p.hidden);
    document.getElementById('shown').textContent = String(shown);
  };
  const sort = () => {
    const key = form.sort.value;
    const val = (el) => key === 'name' ? el.dataset.name : -Number(el.dataset[key]);
    const cmp = (a, b) => { const x = val(a), y = val(b); return x < y ? -1 : x > y ? 1 : 0; };
    for (const g of $('.group')) $('.pkg', g).sort(cmp).forEach((p) => g.appendChild(p));
    for (const body of $('.pkg tbody')) $('tr.finding', body).sort(cmp).forEach((tr) => body.appendChild(tr));
  };
  form.addEventListener('input', apply);
  form.sort.addEventListener('change', sort);
  form.addEventListener('submit', (e) => e.preventDefault());
  document.getElementById('expand').addEventListener('click', () => $('.pkg').forEach((p) => (p.open = true)));
  document.getElementById('collapse').addEventListener('click', () => $('.pkg').forEach((p) => (p.open = false)));
  apply();
})();
`;

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1200px;margin:0 auto;padding:1.5em 2em}
h1{font-size:1.5em;margin:.2em 0;display:flex;align-items:center;gap:.5em}
h2{font-size:1.15em;margin:1.6em 0 .5em}
h3{font-size:1em;margin:1.2em 0 .4em;color:#445}
.grade{font-size:1.6em;font-weight:700;width:1.6em;height:1.6em;display:inline-flex;align-items:center;justify-content:center;border-radius:8px;color:#fff;background:#888}
.grade.A{background:#2e7d32}.grade.B{background:#689f38}.grade.C{background:#f9a825}.grade.D{background:#ef6c00}.grade.E{background:#d84315}.grade.F{background:#b71c1c}
.meta{color:#556}.reason{font-weight:600}
.cards{display:flex;gap:.6em;flex-wrap:wrap;margin:1em 0}
.card{background:#fff;border:1px solid #dde;border-radius:8px;padding:.5em .9em;min-width:6em}
.card b{display:block;font-size:1.5em}
.card.critical b{color:#b71c1c}.card.high b{color:#d84315}.card.medium b{color:#b7791f}.card.low b{color:#556}.card.kev b,.card.malicious b{color:#b71c1c}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{padding:4px 8px;border-bottom:1px solid #e3e5ea;text-align:left;vertical-align:top}
th{font-weight:600;color:#445;background:#f0f2f5}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.sev{font-weight:600;font-size:.85em;padding:0 .4em;border-radius:3px;color:#fff;background:#889}
.sev.CRITICAL{background:#b71c1c}.sev.HIGH{background:#d84315}.sev.MEDIUM{background:#b7791f}.sev.LOW{background:#607d8b}
.tag{font-size:.75em;font-weight:700;padding:0 .35em;border-radius:3px;background:#b71c1c;color:#fff;margin-left:.3em}
.why{color:#556;font-size:.85em}
.notice{background:#fff3cd;border:1px solid #d4a017;padding:4px 8px;border-radius:4px}
.uncovered{font-size:.6em;font-weight:700;padding:.1em .5em;border-radius:4px;border:2px dashed #8a5a00;color:#8a5a00;background:#fff3cd}
.grade.nc{background:repeating-linear-gradient(45deg,#5f5f5f,#5f5f5f 6px,#6f6f6f 6px,#6f6f6f 12px)}
form{display:flex;gap:.8em;flex-wrap:wrap;align-items:center;background:#fff;border:1px solid #dde;border-radius:8px;padding:.6em .9em;position:sticky;top:0;z-index:1}
form input[type=search]{min-width:16em;padding:3px 6px}
details.pkg{background:#fff;border:1px solid #dde;border-radius:6px;margin:.4em 0}
details.pkg>summary{cursor:pointer;padding:.45em .8em;display:flex;gap:.8em;flex-wrap:wrap;align-items:baseline}
details.pkg>summary .name{font-weight:600}
details.pkg>summary small{color:#667}
details.pkg table{border-top:1px solid #dde}
[hidden]{display:none!important}
`;

function findingRow(f: Finding, where: 'base' | 'app'): string {
  const why = f.risk.factors.map((x) => `${x.name} ${x.detail}`).join(' · ');
  const text = [f.id, ...f.aliases, f.package.name, f.title ?? '', locationOf(f) ?? '']
    .join(' ')
    .toLowerCase();
  const tags = `${f.kev ? '<span class="tag">KEV</span>' : ''}${f.kind === 'malicious' ? '<span class="tag">MALWARE</span>' : ''}`;
  return `<tr class="finding" data-sev="${RANK[f.severity.level] ?? 0}" data-risk="${f.risk.score}" data-name="${esc(f.id)}" data-layer="${where}" data-fix="${f.status === 'fixed' && f.fixedVersion ? 1 : 0}" data-kev="${f.kev ? 1 : 0}" data-text="${esc(text)}"><td class="n">${f.risk.score}</td><td><a href="https://osv.dev/vulnerability/${esc(f.id)}">${esc(f.id)}</a>${tags}</td><td><span class="sev ${f.severity.level}">${f.severity.level}</span></td><td>${esc(f.fixedVersion ?? '')}</td><td>${esc(statusOf(f))}</td><td>${esc(f.title ?? '')}<div class="why">why ${f.risk.score}: ${esc(why)}</div></td></tr>`;
}

/** The layer a package came in with, in words: its number and the build step that made it. */
function layerLabel(r: ScanResult, f: Finding): string {
  const l = f.package.layer;
  if (!l) return '';
  const step = l.createdBy ?? r.image.layers[l.index]?.createdBy;
  return `layer ${l.index + 1}${step ? `: ${step.replace(/^\/bin\/sh -c (#\(nop\) )?/, '').slice(0, 90)}` : ''}`;
}

/**
 * A self-contained HTML report (one file, nothing loaded from elsewhere) for a person to read: the
 * grade and counts, the fix plan, then the findings by base image and application and by package,
 * each with why it ranks where it does, with filters and sorting.
 */
export function toHtml(r: ScanResult): string {
  const s = r.summary;
  const baseLayers = baseLayerCount(r);
  const whereOf = (f: Finding): 'base' | 'app' =>
    f.package.layer !== undefined && f.package.layer.index >= baseLayers ? 'app' : 'base';
  const plan = upgrades(r, baseLayers);

  // Packages (one copy at one path), worst first, in their group.
  const groups: Record<'base' | 'app', Map<string, Finding[]>> = { base: new Map(), app: new Map() };
  for (const f of r.findings) {
    const g = groups[whereOf(f)];
    const k = `${f.package.purl}|${f.package.path ?? ''}`;
    g.set(k, [...(g.get(k) ?? []), f]);
  }
  const pkgBlock = (list: Finding[]) => {
    const p = list[0].package;
    const fix = plan.upgrades.find((u) => u.package === p.name && u.from === p.version && u.type === p.type);
    const max = Math.max(...list.map((f) => f.risk.score));
    const worst = Math.max(...list.map((f) => RANK[f.severity.level] ?? 0));
    return `<details class="pkg" open data-risk="${max}" data-sev="${worst}" data-name="${esc(p.name)}"><summary><span class="name">${esc(p.name)} ${esc(p.version)}</span><small>${esc(p.type)}${locationOf(list[0]) ? ` · ${esc(locationOf(list[0])!)}` : ''} · ${esc(layerLabel(r, list[0]))}</small><span>${list.length} finding${list.length === 1 ? '' : 's'}, top risk ${max}</span>${fix ? `<span>→ upgrade to <b>${esc(fix.to)}</b></span>` : ''}</summary>
<table><thead><tr><th>Risk</th><th>Vulnerability</th><th>Severity</th><th>Fixed in</th><th>Status</th><th>Title and why it ranks here</th></tr></thead><tbody>
${list.map((f) => findingRow(f, whereOf(f))).join('\n')}
</tbody></table></details>`;
  };
  const section = (key: 'base' | 'app', title: string) => {
    const pkgs = [...groups[key].values()].sort(
      (a, b) => Math.max(...b.map((f) => f.risk.score)) - Math.max(...a.map((f) => f.risk.score)),
    );
    return pkgs.length
      ? `<section class="group" data-layer="${key}"><h3>${esc(title)} · ${pkgs.length} package${pkgs.length === 1 ? '' : 's'}</h3>\n${pkgs.map(pkgBlock).join('\n')}</section>`
      : '';
  };
  const planRows = plan.upgrades
    .slice(0, 25)
    .map(
      (u) =>
        `<tr><td>${esc(u.package)}</td><td>${esc(u.from)} → <b>${esc(u.to)}</b></td><td class="n">${u.fixes.length}</td><td class="n">${Math.round(u.riskRemoved)}</td><td>${u.inBase ? 'base image (a newer base fixes it)' : 'application'}</td></tr>`,
    )
    .join('\n');
  const card = (cls: string, n: number, label: string) =>
    `<div class="card ${cls}"><b>${n}</b>${esc(label)}</div>`;
  const os = r.os
    ? `${r.os.prettyName ?? r.os.id} (${r.os.id} ${r.os.version})${r.os.eol?.endOfLife ? `, end of life since ${r.os.eol.date}` : ''}`
    : 'unknown OS';
  const baseTitle = `Base image (layer${baseLayers === 1 ? '' : 's'} 1${baseLayers > 1 ? `–${baseLayers}` : ''})`;
  const layers = r.image.layers.length;
  const gaps = coverageGaps(r.coverage);
  const coverage = r.coverage
    ? `<details class="coverage"${gaps ? ' open' : ''}><summary>Coverage: ${gaps ? 'incomplete' : 'every part of the image is covered by the database'}</summary><table><thead><tr><th>Part</th><th>Packages</th><th>Status</th><th>Why</th></tr></thead><tbody>\n${coverageParts(
        r.coverage,
      )
        .map(
          (e) =>
            `<tr><td>${esc(e.name)}</td><td class="n">${e.packages}</td><td>${esc(e.status.replace('-', ' '))}</td><td>${esc(e.detail)}</td></tr>`,
        )
        .join('\n')}\n</tbody></table></details>\n`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Customs: ${esc(r.image.name)} — grade ${esc(gradeLabel(s.grade, r.coverage))}</title>
<style>${STYLE}</style></head><body><main>
<h1><span class="grade ${s.grade}${gaps ? ' nc' : ''}" title="grade ${esc(gradeLabel(s.grade, r.coverage))}">${s.grade}</span>${gaps ? '<span class="uncovered">not covered</span>' : ''} ${esc(r.image.name)}</h1>
<p class="reason">${esc(s.gradeReason)}</p>
<p class="meta">${esc(os)} · ${r.packages.length} packages · ${layers} layer${layers === 1 ? '' : 's'} · context ${esc(r.context.exposure)}, ${esc(r.context.env)} · ${esc(r.createdAt)}${r.database?.version ? ` · database ${esc(r.database.version)}` : ''}</p>
${r.database?.notice ? `<p class="notice"><strong>Warning:</strong> ${esc(r.database.notice)}</p>\n` : ''}${gaps ? `<p class="notice"><strong>Not covered:</strong> ${esc(gaps)}. No finding there means nothing was checked, not nothing found.</p>\n` : ''}${coverage}<div class="cards">
${s.malicious ? card('malicious', s.malicious, 'malicious') : ''}${LEVELS.map((l) => card(l.toLowerCase(), s.bySeverity[l], l.toLowerCase())).join('')}${card('fixable', s.fixable, 'fixable')}${card('kev', s.kev, 'known exploited')}
</div>
<p class="meta">${esc(summaryLine(r))}</p>
<h2>Fix plan</h2>
${
  plan.upgrades.length
    ? `<table><thead><tr><th>Package</th><th>Upgrade</th><th>Fixes</th><th>Risk removed</th><th>Where</th></tr></thead><tbody>\n${planRows}\n</tbody></table>${plan.upgrades.length > 25 ? `<p class="meta">… and ${plan.upgrades.length - 25} more upgrades.</p>` : ''}`
    : '<p>No upgrade fixes a finding.</p>'
}
${plan.unfixable.length ? `<p class="meta">${plan.unfixable.length} finding${plan.unfixable.length === 1 ? ' has' : 's have'} no fix yet (not fixed, will not fix, end of life, or malware to remove).</p>` : ''}
<h2>Findings</h2>
${
  r.findings.length
    ? `<form id="filters"><input type="search" name="q" placeholder="CVE, package, path…" aria-label="search">
<label>severity <select name="sev"><option value="0">all</option><option value="5">critical</option><option value="4">high and up</option><option value="3">medium and up</option><option value="2">low and up</option></select></label>
<label>in <select name="layer"><option value="all">whole image</option><option value="base">base image</option><option value="app">application</option></select></label>
<label><input type="checkbox" name="fix"> fixable</label><label><input type="checkbox" name="kev"> known exploited</label>
<label>sort <select name="sort"><option value="risk">risk</option><option value="sev">severity</option><option value="name">name</option></select></label>
<span><b id="shown">${r.findings.length}</b> of ${r.findings.length} shown</span>
<button type="button" id="expand">expand all</button><button type="button" id="collapse">collapse all</button></form>
${section('base', baseTitle)}
${section('app', 'Application layers')}`
    : `<p>${esc(noFindingsText(r.coverage))}</p>`
}
${
  r.suppressed.length
    ? `<h2>Suppressed (${r.suppressed.length})</h2><table><thead><tr><th>Vulnerability</th><th>Package</th><th>Why</th></tr></thead><tbody>\n${r.suppressed
        .map(
          (f) =>
            `<tr><td>${esc(f.id)}</td><td>${esc(f.package.name)} ${esc(f.package.version)}</td><td>${esc(f.suppression.reason)} (${esc(f.suppression.by)})</td></tr>`,
        )
        .join('\n')}\n</tbody></table>`
    : ''
}
${
  r.secrets?.length
    ? `<h2>Secrets (${r.secrets.length})</h2><table><thead><tr><th>Severity</th><th>Secret</th><th>Where</th><th>Masked</th></tr></thead><tbody>\n${r.secrets
        .map(
          (x) =>
            `<tr><td><span class="sev ${x.severity}">${x.severity}</span></td><td>${esc(x.title)}</td><td>${esc(x.path)}:${x.line}${x.layer ? ` · layer ${x.layer.index + 1}` : ''}${x.deleted ? ' (deleted by a later layer, still in the image)' : ''}</td><td><code>${esc(x.match)}</code></td></tr>`,
        )
        .join('\n')}\n</tbody></table>`
    : ''
}${r.secretCoverage && coverageWarning(r.secretCoverage) ? `<p class="notice"><strong>Warning:</strong> ${esc(coverageWarning(r.secretCoverage)!)}</p>` : ''}
</main>${r.findings.length ? `<script>${SCRIPT}</script>` : ''}</body></html>
`;
}
