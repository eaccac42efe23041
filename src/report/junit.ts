import type { ScanResult } from '../model/scan.js';
import { coverageGaps, coverageParts } from '../scan/coverage.js';

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
  // A part the database does not cover is a skipped case: nothing was checked there.
  const gaps = coverageParts(r.coverage).filter((e) => e.status !== 'covered');
  const skipped = gaps.map(
    (e) =>
      `    <testcase classname="customs.coverage" name="${esc(`${e.name} not covered`)}" time="0">\n      <skipped message="${esc(`${e.status}: ${e.detail}`)}"/>\n    </testcase>`,
  );
  const d = r.database;
  const props =
    d?.version || r.coverage
      ? `    <properties>\n${d?.version ? `      <property name="customs.database.version" value="${esc(d.version)}"/>\n` : ''}${d?.notice ? `      <property name="customs.database.warning" value="${esc(d.notice)}"/>\n` : ''}${r.coverage ? `      <property name="customs.coverage" value="${esc(r.coverage.complete ? 'complete' : `incomplete: ${coverageGaps(r.coverage)}`)}"/>\n` : ''}    </properties>\n`
      : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="customs">
  <testsuite name="${esc(r.image.name)}" tests="${Math.max(1, r.findings.length) + skipped.length}" failures="${r.findings.length}" errors="0" skipped="${skipped.length}" timestamp="${esc(r.createdAt)}">
${props}${[...cases, ...skipped].join('\n')}
  </testsuite>
</testsuites>
`;
}
