import { createHash } from 'node:crypto';
import type { Finding, ScanResult } from '../model/scan.js';
import { coverageWarning } from '../secrets/scan.js';
import { coverageGaps } from '../scan/coverage.js';
import { SARIF_LEVEL, SEVERITY_SCORE, sarifLog } from './sarif-log.js';

/** GitHub code scanning accepts at most 25,000 results per run; we stay well under. */
const MAX_RESULTS = 5000;

function helpText(f: Finding): string {
  return [
    f.title ?? f.id,
    `Package ${f.package.name} ${f.package.version} (${f.package.purl}).`,
    f.kind === 'malicious'
      ? 'This package is malware (OpenSSF malicious-package report): remove it, and treat every system that installed or ran it as compromised.'
      : f.fixedVersion
        ? `Fixed in ${f.fixedVersion}: upgrade the package or rebuild on a newer base image.`
        : `Status: ${f.status.replace(/_/g, ' ')}.`,
    f.kev
      ? `Listed by CISA as known exploited${f.kev.dueDate ? ` (remediation due ${f.kev.dueDate})` : ''}.`
      : '',
    ...f.references.slice(0, 5),
  ]
    .filter(Boolean)
    .join('\n');
}

/** SARIF 2.1.0 for GitHub code scanning: one rule per vulnerability, results at the package's database file. */
export function toSarif(r: ScanResult): object {
  const rules = new Map<string, object>();
  const results: object[] = [];
  for (const f of r.findings.slice(0, MAX_RESULTS)) {
    if (!rules.has(f.id)) {
      rules.set(f.id, {
        id: f.id,
        name: f.id.replace(/[^A-Za-z0-9]/g, ''),
        shortDescription: { text: `${f.id}${f.title ? `: ${f.title}` : ''}`.slice(0, 1000) },
        fullDescription: { text: (f.description ?? f.title ?? f.id).slice(0, 4000) },
        helpUri: f.references[0] ?? `https://osv.dev/vulnerability/${f.id}`,
        help: { text: helpText(f), markdown: helpText(f).replace(/\n/g, '  \n') },
        properties: {
          'security-severity': (f.severity.score ?? SEVERITY_SCORE[f.severity.level]).toFixed(1),
          tags: [
            'security',
            'vulnerability',
            f.severity.level.toLowerCase(),
            ...(f.kev ? ['known-exploited'] : []),
          ],
          precision: 'very-high',
        },
      });
    }
    const uri = (f.package.path ?? '/').replace(/^\//, '') || 'Dockerfile';
    results.push({
      ruleId: f.id,
      level: SARIF_LEVEL[f.severity.level],
      message: {
        text:
          f.kind === 'malicious'
            ? `${f.package.name} ${f.package.version} is a malicious package (${f.id}) in image ${r.image.name}: remove it. Risk ${f.risk.score}/100.`
            : `${f.package.name} ${f.package.version} is affected by ${f.id} (${f.severity.level.toLowerCase()}${f.kev ? ', known exploited' : ''}) in image ${r.image.name}${f.fixedVersion ? `; fixed in ${f.fixedVersion}` : ''}. Risk ${f.risk.score}/100.`,
      },
      locations: [
        {
          physicalLocation: { artifactLocation: { uri }, region: { startLine: 1 } },
          message: { text: `${f.package.purl}` },
        },
      ],
      // Stable across scans of new builds: the vulnerability, the package and where it sits (one
      // alert per copy of a jar), not the version or the digest.
      partialFingerprints: {
        'customsFinding/v1': createHash('sha256')
          .update(
            `${r.image.name.replace(/[:@].*$/, '')}|${f.id}|${f.package.type}/${f.package.name}|${f.package.path ?? ''}`,
          )
          .digest('hex'),
      },
      properties: {
        risk: f.risk.score,
        status: f.status,
        purl: f.package.purl,
        ...(f.fixedVersion ? { fixedVersion: f.fixedVersion } : {}),
      },
    });
  }
  // Secrets and image-configuration findings, after the vulnerabilities (never cut by the cap).
  for (const x of r.secrets ?? []) {
    const id = `secret/${x.rule}`;
    if (!rules.has(id))
      rules.set(id, {
        id,
        name: x.rule.replace(/[^A-Za-z0-9]/g, ''),
        shortDescription: { text: x.title },
        fullDescription: { text: `${x.title} found in the image.` },
        help: {
          text: 'Revoke the credential, remove it from the build (a later layer cannot delete it), and pass secrets at run time.',
        },
        properties: {
          'security-severity': SEVERITY_SCORE[x.severity].toFixed(1),
          tags: ['security', 'secret', x.severity.toLowerCase()],
        },
      });
    const uri = x.path.startsWith('/') ? x.path.slice(1) : 'Dockerfile';
    results.push({
      ruleId: id,
      level: SARIF_LEVEL[x.severity],
      message: {
        text: `${x.title} in ${x.path}${x.deleted ? ' (deleted in a later layer, still in the image)' : ''}: ${x.match}`,
      },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri },
            region: { startLine: x.path.startsWith('/') ? x.line : 1 },
          },
        },
      ],
      partialFingerprints: {
        'customsSecret/v1': createHash('sha256')
          .update(`${r.image.name.replace(/[:@].*$/, '')}|${x.rule}|${x.path}|${x.line}`)
          .digest('hex'),
      },
    });
  }
  for (const m of r.misconfigurations ?? []) {
    if (!rules.has(m.rule))
      rules.set(m.rule, {
        id: m.rule,
        name: m.title.replace(/[^A-Za-z0-9]/g, ''),
        shortDescription: { text: m.title },
        fullDescription: { text: m.title },
        help: { text: m.fix },
        properties: {
          'security-severity': SEVERITY_SCORE[m.severity].toFixed(1),
          tags: ['security', 'configuration', m.severity.toLowerCase()],
        },
      });
    results.push({
      ruleId: m.rule,
      level: SARIF_LEVEL[m.severity],
      message: { text: `${m.message} (image ${r.image.name})` },
      locations: [
        { physicalLocation: { artifactLocation: { uri: 'Dockerfile' }, region: { startLine: 1 } } },
      ],
      partialFingerprints: {
        'customsConfig/v1': createHash('sha256')
          .update(`${r.image.name.replace(/[:@].*$/, '')}|${m.rule}|${m.message}`)
          .digest('hex'),
      },
    });
  }
  const notes =
    r.findings.length > MAX_RESULTS
      ? [
          {
            level: 'warning',
            message: {
              text: `${r.findings.length - MAX_RESULTS} of ${r.findings.length} findings left out to stay within GitHub code scanning's limits; the ${MAX_RESULTS} with the highest risk are kept (the JSON report has them all)`,
            },
          },
        ]
      : [];
  if (r.database?.notice) notes.push({ level: 'warning', message: { text: r.database.notice } });
  const unsearched = coverageWarning(r.secretCoverage);
  if (unsearched) notes.push({ level: 'warning', message: { text: unsearched } });
  const gaps = coverageGaps(r.coverage);
  if (gaps)
    notes.push({
      level: 'warning',
      message: { text: `not covered by the database (no result there means nothing was checked): ${gaps}` },
    });
  return sarifLog([...rules.values()], results, `customs/image/${r.image.name}/`, {
    invocations: [{ executionSuccessful: true, toolExecutionNotifications: notes }],
    properties: {
      image: r.image.name,
      digest: r.image.manifestDigest ?? r.image.configDigest,
      grade: r.summary.grade,
      ...(r.coverage ? { coverage: r.coverage } : {}),
      truncated: r.findings.length > MAX_RESULTS,
      ...(r.database?.version ? { databaseVersion: r.database.version } : {}),
    },
  });
}
