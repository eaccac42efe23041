import type { ScanResult } from '../scan/model.js';
import { locationOf, statusOf, summaryLine } from './scan-table.js';

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A self-contained HTML report (no external resources), for attaching to a build. */
export function toHtml(r: ScanResult): string {
  const rows = r.findings
    .map(
      (f) =>
        `<tr class="${f.severity.level.toLowerCase()}"><td class="n">${f.risk.score}</td><td><a href="https://osv.dev/vulnerability/${esc(f.id)}">${esc(f.id)}</a>${f.kev ? ' <b class="kev">KEV</b>' : ''}</td><td>${f.severity.level}</td><td>${esc(f.package.name)}${locationOf(f) ? `<br><small>${esc(locationOf(f)!)}</small>` : ''}</td><td>${esc(f.package.version)}</td><td>${esc(f.fixedVersion ?? '')}</td><td>${f.kind === 'malicious' ? `<b class="kev">${esc(statusOf(f))}</b>` : esc(statusOf(f))}</td><td>${esc(f.title ?? '')}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Customs: ${esc(r.image.name)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}.grade{font-size:2em;font-weight:bold;padding:0 .3em;border:2px solid #333;border-radius:6px}
table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
td.n{text-align:right}.critical td:nth-child(3){color:#b00;font-weight:bold}.high td:nth-child(3){color:#d40}.medium td:nth-child(3){color:#a70}
.notice{background:#fff3cd;border:1px solid #d4a017;padding:4px 8px}
.kev{background:#b00;color:#fff;padding:0 4px;border-radius:3px;font-size:.8em}
</style></head><body>
<h1><span class="grade">${r.summary.grade}</span> ${esc(r.image.name)}</h1>
<p>${esc(r.os ? `${r.os.prettyName ?? r.os.id} (${r.os.id} ${r.os.version})${r.os.eol?.endOfLife ? `, end of life since ${r.os.eol.date}` : ''}` : 'unknown OS')} · ${r.packages.length} packages · context ${esc(r.context.exposure)}, ${esc(r.context.env)} · ${esc(r.createdAt)}</p>
<p>${esc(summaryLine(r))}</p>
${r.database?.notice ? `<p class="notice"><strong>Warning:</strong> ${esc(r.database.notice)}</p>\n` : ''}<p>${esc(r.database?.version ? `database ${r.database.version}${r.database.origin ? ` · ${r.database.origin}` : ''}` : '')}</p>
<table><thead><tr><th>Risk</th><th>Vulnerability</th><th>Severity</th><th>Package</th><th>Installed</th><th>Fixed in</th><th>Status</th><th>Title</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="8">No vulnerabilities found.</td></tr>'}
</tbody></table>
</body></html>
`;
}
