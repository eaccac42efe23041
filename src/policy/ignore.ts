import { existsSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { CustomsError } from '../errors.js';
import type { Finding, SuppressedFinding } from '../model/scan.js';
import { readUserFile } from '../user-file.js';

/**
 * `.customsignore.yaml`: exceptions with a reason, optionally for one package, until a date, in
 * some environments:
 *
 *   ignores:
 *     - id: CVE-2019-14697          # or any alias (GHSA-…, GO-…)
 *       package: musl               # optional: a name or a purl (without version: every version)
 *       reason: not reachable: we never call the affected code
 *       expires: 2027-01-31         # optional; an expired exception stops applying and says so
 *       environments: [dev, staging]  # optional
 */
export interface IgnoreRule {
  id: string;
  package?: string;
  reason: string;
  expires?: string;
  environments?: string[];
  line: number;
}

/** Why a finding was set aside (the same record on every suppressed finding, model/scan.ts). */
export type Suppression = SuppressedFinding['suppression'];

export function loadIgnoreFile(path: string): IgnoreRule[] {
  const text = readUserFile(path);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new CustomsError(`line ${e.linePos?.[0].line ?? '?'}: ${e.message.split('\n')[0]}`, path);
  }
  const root = doc.contents as { items?: unknown[] } | null;
  const list = doc.get('ignores', true) as
    { items?: Array<{ range?: [number]; toJSON(): unknown }> } | undefined;
  if (root && !list) throw new CustomsError('line 1: expected a top-level "ignores:" list', path);
  const rules: IgnoreRule[] = [];
  for (const node of list?.items ?? []) {
    const line = lines.linePos(node.range?.[0] ?? 0).line;
    const r = node.toJSON() as Record<string, unknown>;
    const fail = (m: string) => {
      throw new CustomsError(`line ${line}: ${m}`, path);
    };
    if (!r || typeof r !== 'object') fail('each exception must be a mapping with id and reason');
    if (typeof r.id !== 'string' || !r.id) fail('an exception needs an "id"');
    if (typeof r.reason !== 'string' || !r.reason.trim()) fail(`exception for ${r.id} needs a "reason"`);
    let expires: string | undefined;
    if (r.expires !== undefined) {
      expires = r.expires instanceof Date ? r.expires.toISOString().slice(0, 10) : String(r.expires);
      if (Number.isNaN(Date.parse(expires))) fail(`exception for ${r.id}: "expires" is not a date`);
    }
    const envs = r.environments === undefined ? undefined : ([] as unknown[]).concat(r.environments);
    if (envs && !envs.every((e) => typeof e === 'string' && /^[a-z0-9][a-z0-9_-]{0,62}$/.test(e)))
      fail(`exception for ${r.id}: environments are names like production, staging, dev or your policy's`);
    rules.push({
      id: r.id as string,
      package: typeof r.package === 'string' ? r.package : undefined,
      reason: (r.reason as string).trim(),
      expires,
      environments: envs as string[] | undefined,
      line,
    });
  }
  return rules;
}

/** purl without version and qualifiers, for "every version of this package". */
export function purlBase(purl: string): string {
  return purl.replace(/[?#].*$/, '').replace(/@[^/]*$/, '');
}

export function packageMatches(spec: string | undefined, pkg: Finding['package']): boolean {
  if (!spec) return true;
  if (spec.startsWith('pkg:'))
    return spec.includes('@')
      ? spec.replace(/[?#].*$/, '') === pkg.purl.replace(/[?#].*$/, '')
      : purlBase(pkg.purl) === spec;
  return spec === pkg.name;
}

/** Apply exceptions; expired ones are reported, not applied. */
export function applyIgnores(
  findings: Finding[],
  rules: IgnoreRule[],
  file: string,
  env: string,
  now = new Date(),
): { kept: Finding[]; suppressed: Array<Finding & { suppression: Suppression }>; warnings: string[] } {
  const kept: Finding[] = [];
  const suppressed: Array<Finding & { suppression: Suppression }> = [];
  const warnings = new Set<string>();
  for (const f of findings) {
    const ids = new Set([f.id, ...f.aliases]);
    const rule = rules.find(
      (r) =>
        ids.has(r.id) &&
        packageMatches(r.package, f.package) &&
        (!r.environments || r.environments.includes(env)),
    );
    if (rule?.expires && new Date(`${rule.expires}T23:59:59Z`) < now) {
      warnings.add(
        `${file}:${rule.line}: the exception for ${rule.id} expired on ${rule.expires} and no longer applies`,
      );
      kept.push(f);
    } else if (rule) {
      suppressed.push({
        ...f,
        suppression: { by: 'ignore-file', reason: rule.reason, source: `${file}:${rule.line}` },
      });
    } else kept.push(f);
  }
  return { kept, suppressed, warnings: [...warnings] };
}

export function defaultIgnoreFile(cwd = process.cwd()): string | undefined {
  const f = `${cwd}/.customsignore.yaml`;
  return existsSync(f) ? f : undefined;
}
