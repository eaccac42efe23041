import type { ScanResult } from '../model/scan.js';
import { toSpdx } from '../sbom/spdx.js';
import { coverageGaps } from '../scan/coverage.js';

/** SPDX 2.3 has no vulnerability section: each finding becomes a SECURITY external reference of its package. */
export function toSpdxWithAdvisories(r: ScanResult): object {
  const doc = toSpdx({
    image: r.image,
    inventory: { os: r.os, packages: r.packages, warnings: [] },
    tool: r.tool,
  }) as { packages: Array<{ externalRefs?: Array<Record<string, string>> }> };
  const byPurl = new Map<string, (typeof doc.packages)[number]>();
  for (const p of doc.packages) {
    const purl = p.externalRefs?.find((e) => e.referenceType === 'purl')?.referenceLocator;
    if (purl) byPurl.set(purl, p);
  }
  for (const f of r.findings) {
    const p = byPurl.get(f.package.purl);
    if (!p) continue;
    p.externalRefs!.push({
      referenceCategory: 'SECURITY',
      referenceType: 'advisory',
      referenceLocator: `https://osv.dev/vulnerability/${f.id}`,
      comment: `${f.id} ${f.severity.level}${f.fixedVersion ? `, fixed in ${f.fixedVersion}` : `, ${f.status.replace(/_/g, ' ')}`}; risk ${f.risk.score}/100${f.kev ? '; known exploited (KEV)' : ''}`,
    });
  }
  const info = (doc as { creationInfo?: { comment?: string } }).creationInfo;
  if (info && r.database?.version)
    info.comment = `Vulnerabilities from the Customs database version ${r.database.version}${r.database.notice ? `. Warning: ${r.database.notice}` : ''}`;
  const gaps = coverageGaps(r.coverage);
  if (info && r.coverage)
    info.comment = `${info.comment ? `${info.comment}. ` : ''}${gaps ? `Not covered by the database (no advisory there means nothing was checked): ${gaps}` : 'Coverage: complete'}`;
  return doc;
}
