import { existsSync } from 'node:fs';
import YAML from 'yaml';
import { CustomsError } from '../errors.js';
import { LEVELS, type SeverityLevel } from '../rank/severity.js';
import type { ScanResult } from '../model/scan.js';
import { releasesBehind } from '../distro/eol.js';
import { provenanceProblem } from './provenance.js';
import { readUserFile } from '../user-file.js';

/**
 * Environment policies (`customs-policy.yaml`): per environment, a list of rules, each an id, a
 * check from CHECKS, a severity and an optional threshold. `customs policy check` evaluates them
 * on a scan (vulnerabilities, secrets, image configuration) after exceptions and VEX.
 */

export interface PolicyRule {
  id: string;
  check: string;
  description?: string;
  severity: SeverityLevel;
  /** Check-specific settings: severities, days, licences… */
  with?: Record<string, unknown>;
}

export interface Policy {
  environments: Record<string, { description?: string; rules: PolicyRule[] }>;
}

export interface RuleResult {
  id: string;
  check: string;
  description: string;
  severity: SeverityLevel;
  status: 'pass' | 'fail' | 'not-applicable';
  /** What broke the rule, one line each. */
  offending: string[];
}

interface Check {
  description: (w: Record<string, unknown>) => string;
  run: (r: ScanResult, w: Record<string, unknown>, now: Date) => string[] | undefined;
}

const list = (v: unknown, fallback: string[]): string[] => (Array.isArray(v) ? v.map(String) : fallback);
const num = (v: unknown, fallback: number): number => (typeof v === 'number' ? v : fallback);

/** Every check a rule can name; adding one is one entry. undefined from run(): not applicable. */
export const CHECKS: Record<string, Check> = {
  'malicious-packages': {
    description: () => 'no package reported as malware (OpenSSF malicious-package reports)',
    run: (r) =>
      r.findings
        .filter((f) => f.kind === 'malicious')
        .map(
          (f) =>
            `${f.package.name} ${f.package.version} is malware (${f.id})${f.package.path ? ` at ${f.package.path}` : ''}`,
        ),
  },
  'signed-by': {
    description: () => 'signed by a trusted key (cosign)',
    run: (r) =>
      !r.signature
        ? ['no signature was checked: the image is not from a registry, or no trusted key was given']
        : r.signature.trusted
          ? []
          : [r.signature.reason],
  },
  'provenance-from': {
    description: (w) =>
      `SLSA provenance from ${[...list(w.builders, []), ...list(w.sources, [])].join(', ') || 'any builder'}`,
    run: (r, w) => {
      const found = (r.image.attestations ?? []).filter((a) => a.provenance).map((a) => a.provenance!);
      const rules = { builders: list(w.builders, []), sources: list(w.sources, []) };
      // With no patterns, any provenance will do; with patterns, one must fit them.
      if (!rules.builders.length && !rules.sources.length)
        return found.length ? [] : ['no SLSA provenance attestation'];
      const problem = provenanceProblem(found, rules);
      return problem ? [problem] : [];
    },
  },
  vulnerabilities: {
    description: (w) =>
      `no ${w.fixable === false ? '' : 'fixable '}${list(w.severities, ['CRITICAL', 'HIGH']).join('/').toLowerCase()} vulnerabilities`,
    run: (r, w) => {
      const sev = list(w.severities, ['CRITICAL', 'HIGH']).map((s) => s.toUpperCase());
      return r.findings
        .filter((f) => sev.includes(f.severity.level) && (w.fixable === false || f.status === 'fixed'))
        .map(
          (f) =>
            `${f.id} (${f.severity.level.toLowerCase()}) in ${f.package.name} ${f.package.version}${f.fixedVersion ? `, fixed in ${f.fixedVersion}` : ''}`,
        );
    },
  },
  'fix-age': {
    description: (w) => `no vulnerability whose fix has been published for more than ${num(w.days, 30)} days`,
    run: (r, w, now) =>
      r.findings
        .filter(
          (f) =>
            f.status === 'fixed' &&
            f.published &&
            now.getTime() - Date.parse(f.published) > num(w.days, 30) * 86_400_000,
        )
        .map(
          (f) =>
            `${f.id} in ${f.package.name} ${f.package.version}: published ${f.published!.slice(0, 10)}, fixed in ${f.fixedVersion}`,
        ),
  },
  'known-exploited': {
    description: () => 'no vulnerability listed by CISA as known exploited',
    run: (r) =>
      r.findings
        .filter((f) => f.kev)
        .map(
          (f) =>
            `${f.id} in ${f.package.name} ${f.package.version}${f.kev?.dueDate ? ` (CISA due date ${f.kev.dueDate})` : ''}`,
        ),
  },
  epss: {
    description: (w) => `no vulnerability with an EPSS probability of ${num(w.above, 0.1)} or more`,
    run: (r, w) =>
      r.findings
        .filter((f) => (f.epss?.score ?? 0) >= num(w.above, 0.1))
        .map((f) => `${f.id}: EPSS ${f.epss!.score.toFixed(3)} in ${f.package.name}`),
  },
  licenses: {
    description: (w) => `no package under a denied licence (${list(w.deny, DEFAULT_DENY).join(', ')})`,
    run: (r, w) => {
      const deny = list(w.deny, DEFAULT_DENY).map((l) => l.toLowerCase());
      return r.packages
        .filter((p) => (p.licenses ?? []).some((l) => deny.some((d) => l.toLowerCase().includes(d))))
        .map((p) => `${p.name} ${p.version}: ${p.licenses.join(' AND ')}`);
    },
  },
  'base-image-supported': {
    description: (w) =>
      `the base OS release is supported${num(w.days, 0) ? ` for at least ${num(w.days, 0)} more days` : ''}`,
    run: (r, w, now) => {
      if (!r.os?.eol) return undefined;
      const end = new Date(`${r.os.eol.date}T23:59:59Z`).getTime();
      const days = num(w.days, 0);
      if (end < now.getTime()) return [`${r.os.id} ${r.os.version} reached end of life on ${r.os.eol.date}`];
      if (end - now.getTime() < days * 86_400_000)
        return [`${r.os.id} ${r.os.version} reaches end of life on ${r.os.eol.date}, within ${days} days`];
      return [];
    },
  },
  'base-image-current': {
    description: (w) => `the base OS release is at most ${num(w.behind, 2)} releases behind the newest`,
    run: (r, w) => {
      if (!r.os) return undefined;
      const behind = releasesBehind(r.os.id, r.os.version);
      if (behind === undefined) return undefined;
      return behind > num(w.behind, 2)
        ? [`${r.os.id} ${r.os.version} is ${behind} releases behind the newest`]
        : [];
    },
  },
  'non-root': {
    description: () => 'the image does not run as root',
    run: (r) => {
      if (r.image.kind === 'rootfs' || r.image.kind === 'sbom') return undefined;
      const u = (r.image.config?.user ?? '').trim();
      return !u || /^(root|0)(:.*)?$/.test(u) ? [u ? `runs as ${u}` : 'no USER: runs as root'] : [];
    },
  },
  healthcheck: {
    description: () => 'the image declares a HEALTHCHECK',
    run: (r) => {
      if (r.image.kind === 'rootfs' || r.image.kind === 'sbom') return undefined;
      const h = r.image.config?.healthcheck;
      return !h?.length || h[0] === 'NONE' ? ['no HEALTHCHECK'] : [];
    },
  },
  'no-secrets': {
    description: () => 'no secrets in the layers, config or history',
    run: (r) =>
      (r.secrets ?? []).map(
        (s) =>
          `${s.title} in ${s.path}${s.path.startsWith('/') ? `:${s.line}` : ''}${s.deleted ? ' (deleted later, still in the image)' : ''}: ${s.match}`,
      ),
  },
  'image-config': {
    description: (w) =>
      `no image-configuration finding of ${String(w.severity ?? 'MEDIUM').toLowerCase()} severity or worse`,
    run: (r, w) => {
      const at = LEVELS.indexOf(String(w.severity ?? 'MEDIUM').toUpperCase() as SeverityLevel);
      return (r.misconfigurations ?? [])
        .filter((m) => LEVELS.indexOf(m.severity) <= at)
        .map((m) => `${m.rule}: ${m.message}`);
    },
  },
  attestations: {
    description: (w) =>
      `the image carries ${list(w.require, ['sbom', 'provenance']).join(' and ')} attestations`,
    run: (r, w) => {
      if (r.image.kind !== 'registry') return undefined;
      const kinds = new Set((r.image.attestations ?? []).map((a) => a.kind));
      return list(w.require, ['sbom', 'provenance'])
        .filter((k) => !kinds.has(k as 'sbom'))
        .map((k) => `no ${k} attestation`);
    },
  },
};

const DEFAULT_DENY = ['AGPL', 'GPL-3.0', 'SSPL', 'Commons-Clause'];

/** The built-in policy: production strict, staging in between, dev relaxed. */
export const DEFAULT_POLICY: Policy = {
  environments: {
    production: {
      description: 'internet-facing production: strict',
      rules: [
        {
          id: 'no-fixable-critical-high',
          check: 'vulnerabilities',
          severity: 'HIGH',
          with: { severities: ['CRITICAL', 'HIGH'], fixable: true },
        },
        { id: 'no-known-exploited', check: 'known-exploited', severity: 'CRITICAL' },
        { id: 'supported-base-image', check: 'base-image-supported', severity: 'HIGH', with: { days: 30 } },
        { id: 'current-base-image', check: 'base-image-current', severity: 'LOW', with: { behind: 4 } },
        { id: 'non-root', check: 'non-root', severity: 'MEDIUM' },
        { id: 'healthcheck', check: 'healthcheck', severity: 'LOW' },
        { id: 'no-secrets', check: 'no-secrets', severity: 'CRITICAL' },
        { id: 'licenses', check: 'licenses', severity: 'MEDIUM' },
      ],
    },
    staging: {
      description: 'staging: no known-exploited or fixable critical issues, no secrets',
      rules: [
        {
          id: 'no-fixable-critical',
          check: 'vulnerabilities',
          severity: 'HIGH',
          with: { severities: ['CRITICAL'], fixable: true },
        },
        { id: 'no-known-exploited', check: 'known-exploited', severity: 'CRITICAL' },
        { id: 'supported-base-image', check: 'base-image-supported', severity: 'MEDIUM' },
        { id: 'no-secrets', check: 'no-secrets', severity: 'CRITICAL' },
      ],
    },
    dev: {
      description: 'development: relaxed, but never secrets',
      rules: [{ id: 'no-secrets', check: 'no-secrets', severity: 'CRITICAL' }],
    },
  },
};

/**
 * Every environment of every policy refuses malware: the rule is added where a policy does not
 * name the check itself (a policy that does keeps its own severity and id).
 */
const NO_MALWARE: PolicyRule = {
  id: 'no-malicious-packages',
  check: 'malicious-packages',
  severity: 'CRITICAL',
};
function withMalwareRule(p: Policy): Policy {
  for (const e of Object.values(p.environments))
    if (!e.rules.some((r) => r.check === NO_MALWARE.check)) e.rules.push({ ...NO_MALWARE });
  return p;
}
withMalwareRule(DEFAULT_POLICY);

export const POLICY_FILE = 'customs-policy.yaml';

/** The policy in force: the file given, else ./customs-policy.yaml when present, else the built-in one. */
export function resolvePolicy(file?: string): { policy: Policy; name: string } {
  if (file) {
    if (!existsSync(file)) throw new CustomsError('no such file', file);
    return { policy: loadPolicy(file), name: file };
  }
  if (existsSync(POLICY_FILE)) return { policy: loadPolicy(POLICY_FILE), name: POLICY_FILE };
  return { policy: DEFAULT_POLICY, name: 'built-in' };
}

export function loadPolicy(file: string): Policy {
  let doc: unknown;
  try {
    doc = YAML.parse(readUserFile(file));
  } catch (err) {
    const e = err as { message: string; linePos?: Array<{ line: number }> };
    throw new CustomsError(
      `not valid YAML${e.linePos ? ` (line ${e.linePos[0].line})` : ''}: ${e.message.split('\n')[0]}`,
      file,
    );
  }
  const envs = (doc as { environments?: Record<string, { description?: string; rules?: unknown[] }> })
    ?.environments;
  if (!envs || typeof envs !== 'object') throw new CustomsError('a policy needs an `environments` map', file);
  const policy: Policy = { environments: {} };
  for (const [name, env] of Object.entries(envs)) {
    const rules: PolicyRule[] = [];
    for (const [i, raw] of (env?.rules ?? []).entries()) {
      const r = raw as Partial<PolicyRule> & { severity?: string };
      const where = `environments.${name}.rules[${i}]`;
      if (!r.id || !r.check) throw new CustomsError(`${where}: a rule needs an id and a check`, file);
      if (!CHECKS[r.check])
        throw new CustomsError(
          `${where}: unknown check "${r.check}"; known: ${Object.keys(CHECKS).join(', ')}`,
          file,
        );
      const severity = String(r.severity ?? 'HIGH').toUpperCase() as SeverityLevel;
      if (!LEVELS.includes(severity))
        throw new CustomsError(`${where}: unknown severity "${r.severity}"`, file);
      rules.push({ id: r.id, check: r.check, description: r.description, severity, with: r.with ?? {} });
    }
    policy.environments[name] = { description: env?.description, rules };
  }
  return withMalwareRule(policy);
}

export function evaluatePolicy(policy: Policy, env: string, r: ScanResult, now = new Date()): RuleResult[] {
  const e = policy.environments[env];
  if (!e)
    throw new CustomsError(
      `the policy has no environment "${env}"; it has ${Object.keys(policy.environments).join(', ')}`,
    );
  return e.rules.map((rule) => {
    const check = CHECKS[rule.check];
    const w = rule.with ?? {};
    const offending = check.run(r, w, now);
    return {
      id: rule.id,
      check: rule.check,
      description: rule.description ?? check.description(w),
      severity: rule.severity,
      status: offending === undefined ? 'not-applicable' : offending.length ? 'fail' : 'pass',
      offending: offending ?? [],
    };
  });
}

/**
 * The next moment after `now` at which time alone may change how an environment's policy judges
 * a result (a fix grows older than a `fix-age` rule allows, an OS release nears or reaches its
 * end of life), or undefined when none does. A stored verdict holds until then.
 */
export function policyChangesAt(
  policy: Policy,
  env: string,
  r: ScanResult,
  now = new Date(),
): Date | undefined {
  const t = now.getTime();
  let next = Infinity;
  const after = (x: number) => {
    if (Number.isFinite(x) && x > t && x < next) next = x;
  };
  for (const rule of policy.environments[env]?.rules ?? []) {
    const w = rule.with ?? {};
    if (rule.check === 'fix-age')
      for (const f of r.findings ?? [])
        if (f.status === 'fixed' && f.published)
          after(Date.parse(f.published) + num(w.days, 30) * 86_400_000 + 1);
    if (rule.check === 'base-image-supported' && r.os?.eol) {
      const end = new Date(`${r.os.eol.date}T23:59:59Z`).getTime();
      after(end + 1);
      after(end - num(w.days, 0) * 86_400_000);
    }
  }
  return Number.isFinite(next) ? new Date(next) : undefined;
}
