// Suppression in one place: the findings a scan matched pass through one ordered list of
// suppressors, each setting aside (with its reason) what it covers, and the summary is computed
// once, at the end, over what is left. docs/design.md ("The scan session") gives the order and why.
import { existsSync } from 'node:fs';
import { CustomsError } from '../errors.js';
import type { Finding, ScanResult, ScanSummary, SuppressedFinding } from '../model/scan.js';
import { summarize } from '../rank/risk.js';
import { applyIgnores, defaultIgnoreFile, loadIgnoreFile, packageMatches } from './ignore.js';
import { applyVex, loadVex, type VexInput } from './vex.js';

export interface Suppressor {
  by: SuppressedFinding['suppression']['by'];
  /** Split the findings still standing: what this suppressor covers moves aside with its reason. */
  apply(
    findings: Finding[],
    r: Pick<ScanResult, 'image' | 'context'>,
  ): { kept: Finding[]; suppressed: SuppressedFinding[]; warnings?: string[] };
}

/** What `suppress` reads of a result: any result, summarised or not yet. */
type Suppressible = Omit<ScanResult, 'summary'> & { summary?: ScanSummary };

/**
 * Apply the suppressors in order (each sees only what the ones before it kept) and summarise
 * what remains: the one place a result's findings, suppressed list and summary are settled.
 */
export function suppress(r: Suppressible, list: Suppressor[]): ScanResult {
  let findings = r.findings;
  const suppressed = [...r.suppressed];
  const warnings = [...r.warnings];
  for (const s of list) {
    const out = s.apply(findings, r);
    findings = out.kept;
    suppressed.push(...out.suppressed);
    warnings.push(...(out.warnings ?? []));
  }
  return { ...r, findings, suppressed, warnings, summary: summaryOf(r, findings) };
}

/** The summary of a result's findings (or of the ones given): grade, counts, fixable, KEV. */
export function summaryOf(r: Pick<ScanResult, 'os' | 'packages'>, findings: Finding[]): ScanSummary {
  return summarize(findings, {
    osEndOfLife: !!r.os?.eol?.endOfLife,
    recognised: !!r.os || r.packages.length > 0,
  });
}

/** A Go finding whose vulnerable functions the matcher looked for in the binary and did not find. */
export interface UnreachableFinding {
  finding: Finding;
  /** The functions checked (the advisory's symbols). */
  checked: string[];
}

/**
 * First: a fact read from the image itself, not a statement anyone made. Set aside as VEX would
 * (not_affected, vulnerable_code_not_present), naming the functions checked.
 */
export function goReachability(list: UnreachableFinding[]): Suppressor {
  return {
    by: 'reachability',
    apply(findings) {
      const unreachable = new Set(list.map((u) => u.finding));
      const standing = new Set(findings);
      const suppressed = list
        .filter((u) => standing.has(u.finding))
        .map(({ finding: f, checked }): SuppressedFinding => {
          const shown =
            checked.slice(0, 8).join(', ') + (checked.length > 8 ? `, … (${checked.length} in all)` : '');
          return {
            ...f,
            vex: { status: 'not_affected', detail: 'vulnerable_code_not_present', source: 'go symbol table' },
            suppression: {
              by: 'reachability',
              reason: `vulnerable_code_not_present: none of ${shown} is in the binary`,
              source: `${f.package.path ?? 'binary'} (Go symbol table)`,
              status: 'not_affected',
              justification: 'vulnerable_code_not_present',
            },
          };
        });
      return { kept: findings.filter((f) => !unreachable.has(f)), suppressed };
    },
  };
}

/**
 * The ignore file: `file`, else ./.customsignore.yaml when present. Its rules name the
 * environment they hold in: `env` is the name as given (a policy's own environment too).
 * Read when applied, so a missing file fails where it always has, after the scan.
 */
export function ignoreFile(file: string | undefined, env?: string): Suppressor[] {
  const path = file ?? defaultIgnoreFile();
  if (!path) return [];
  return [
    {
      by: 'ignore-file',
      apply(findings, r) {
        if (!existsSync(path)) throw new CustomsError('no such file', path);
        return applyIgnores(findings, loadIgnoreFile(path), path, env ?? r.context.env);
      },
    },
  ];
}

/**
 * One OpenVEX or CycloneDX VEX document (a file, read when applied, or a document read before the
 * scan): not_affected and fixed statements suppress. A signed one counts only for the image its
 * signature names: statements signed for another image must not silence this one's findings.
 */
export function vexDocument(input: string | VexInput): Suppressor {
  return {
    by: 'vex',
    apply(findings, r) {
      if (typeof input === 'string') {
        if (!existsSync(input)) throw new CustomsError('no such file', input);
        return applyVex(findings, loadVex(input), r.image);
      }
      if (input.subjects) {
        const digest = r.image.manifestDigest;
        if (!digest)
          throw new CustomsError(
            `the signed VEX is about ${input.subjects.join(', ')}; this image has no manifest digest to compare (an archive): scan it from its registry`,
            input.source,
          );
        if (!input.subjects.includes(digest))
          throw new CustomsError(
            `the signed VEX is about ${input.subjects.join(', ')}, not the image scanned (${digest})`,
            input.source,
          );
      }
      return applyVex(findings, input.statements, r.image);
    },
  };
}

/** What applying a gate exception reads of it (gate/exceptions.ts keeps the records). */
export interface ExceptionLike {
  id: number;
  vulnerability?: string;
  package?: string;
  reason: string;
  expiresAt: string;
  createdBy: string;
  approvedBy: string | null;
}

/** Split findings by the vulnerability exceptions in force. */
export function applyExceptions(
  findings: Finding[],
  exceptions: ExceptionLike[],
): { kept: Finding[]; suppressed: SuppressedFinding[] } {
  const kept: Finding[] = [];
  const suppressed: SuppressedFinding[] = [];
  for (const f of findings) {
    const ids = new Set([f.id, ...f.aliases]);
    const e = exceptions.find(
      (x) => x.vulnerability && ids.has(x.vulnerability) && packageMatches(x.package, f.package),
    );
    if (e)
      suppressed.push({
        ...f,
        suppression: {
          by: 'exception',
          reason: e.reason,
          source: `exception ${e.id} (until ${e.expiresAt.slice(0, 10)}, by ${e.approvedBy ?? e.createdBy})`,
        },
      });
    else kept.push(f);
  }
  return { kept, suppressed };
}

/** The gate's exceptions in force for this image and environment (the server reads them). */
export function gateExceptions(list: ExceptionLike[]): Suppressor {
  return { by: 'exception', apply: (findings) => applyExceptions(findings, list) };
}

/**
 * The statements a user brings to a scan, in order: the ignore file, then each VEX document as
 * given, then the gate's exceptions. Go reachability comes before all of them (scan/session.ts).
 */
export function statedSuppressors(opts: {
  ignorefile?: string;
  vex?: Array<string | VexInput>;
  env?: string;
  exceptions?: ExceptionLike[];
}): Suppressor[] {
  return [
    ...ignoreFile(opts.ignorefile, opts.env),
    ...(opts.vex ?? []).map(vexDocument),
    ...(opts.exceptions?.length ? [gateExceptions(opts.exceptions)] : []),
  ];
}
