import type { ScanResult } from '../scan/model.js';

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );

/** JUnit XML for CI test views: one test case per finding (failing), or one passing case when clean. */
export function toJunit(r: ScanResult): string {
  const cases = r.findings.length
    ? r.findings.map(
        (f) =>
          `    <testcase classname="${esc(`${f.package.type}.${f.package.name}`)}" name="[${f.severity.level}] ${esc(f.id)}" time="0">\n      <failure message="${esc(`${f.package.name} ${f.package.version}${f.fixedVersion ? `, fixed in ${f.fixedVersion}` : ''}`)}" type="${f.severity.level}">${esc(`${f.title ?? f.id}\nrisk ${f.risk.score}/100, status ${f.status}`)}</failure>\n    </testcase>`,
      )
    : ['    <testcase classname="customs" name="no vulnerabilities" time="0"/>'];
  const d = r.database;
  const props = d?.version
    ? `    <properties>\n      <property name="customs.database.version" value="${esc(d.version)}"/>\n${d.notice ? `      <property name="customs.database.warning" value="${esc(d.notice)}"/>\n` : ''}    </properties>\n`
    : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="customs">
  <testsuite name="${esc(r.image.name)}" tests="${Math.max(1, r.findings.length)}" failures="${r.findings.length}" errors="0" skipped="0" timestamp="${esc(r.createdAt)}">
${props}${cases.join('\n')}
  </testsuite>
</testsuites>
`;
}
