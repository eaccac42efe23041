import { createHash } from 'node:crypto';
import type { SeverityLevel } from '../rank/severity.js';
import type { ScanResult } from '../model/scan.js';
import { coverageGaps } from '../scan/coverage.js';

const SEVERITY: Record<SeverityLevel, string> = {
  CRITICAL: 'Critical',
  HIGH: 'High',
  MEDIUM: 'Medium',
  LOW: 'Low',
  NONE: 'Info',
  UNKNOWN: 'Unknown',
};

/** GitLab's container-scanning report (gl-container-scanning-report.json, schema 15.x). */
export function toGitlab(r: ScanResult): object {
  const time = r.createdAt.replace(/\.\d{3}Z$/, '');
  const os = r.os ? `${r.os.id} ${r.os.version}` : 'unknown';
  const scanner = { id: 'customs', name: 'Customs', version: r.tool.version, vendor: { name: 'Customs' } };
  const gaps = coverageGaps(r.coverage);
  const messages = [
    ...(r.database?.notice ? [{ level: 'warn', value: r.database.notice }] : []),
    ...(gaps ? [{ level: 'warn', value: `not covered by the database: ${gaps}` }] : []),
  ];
  return {
    version: '15.0.7',
    scan: {
      scanner,
      analyzer: scanner,
      type: 'container_scanning',
      start_time: time,
      end_time: time,
      status: 'success',
      ...(messages.length ? { messages } : {}),
    },
    vulnerabilities: r.findings.map((f) => ({
      id: createHash('sha256').update(`${r.image.name}|${f.id}|${f.package.purl}`).digest('hex').slice(0, 32),
      name: f.title ?? f.id,
      description: (f.description ?? f.title ?? f.id).slice(0, 15000),
      severity: SEVERITY[f.severity.level],
      solution:
        f.kind === 'malicious'
          ? `Remove ${f.package.name}: it is a malicious package`
          : f.fixedVersion
            ? `Upgrade ${f.package.name} to ${f.fixedVersion}`
            : 'No fix is available yet',
      location: {
        dependency: { package: { name: f.package.name }, version: f.package.version },
        operating_system: os,
        image: r.image.name,
      },
      identifiers: [f.id, ...f.aliases].map((id) => ({
        type: id.startsWith('CVE-') ? 'cve' : id.startsWith('GHSA-') ? 'ghsa' : 'osv',
        name: id,
        value: id,
        url: id.startsWith('CVE-')
          ? `https://nvd.nist.gov/vuln/detail/${id}`
          : `https://osv.dev/vulnerability/${id}`,
      })),
      links: f.references.slice(0, 10).map((url) => ({ url })),
    })),
    remediations: [],
  };
}
