import type { RuleResult } from '../policy/policy.js';
import { compareDotted } from '../versions/dotted.js';
import type { Finding, ScanResult } from '../model/scan.js';
import { schemeForPurlType } from '../versions/index.js';

/**
 * What to do first (`customs advise`): the smallest upgrade of each vulnerable package that fixes
 * all its findings and the risk it removes, the base image among candidates that removes the most,
 * and a plan that gets the image to an environment's policy.
 */

export interface Upgrade {
  package: string;
  type: string;
  from: string;
  to: string;
  fixes: string[];
  /** Sum of the risk scores of the findings the upgrade removes. */
  riskRemoved: number;
  /** Whether the package came with the base image (its first layers): then a base change fixes it. */
  inBase: boolean;
}

export interface BaseCandidate {
  image: string;
  os?: string;
  /** Findings of the current image in base-image packages that the candidate no longer has. */
  removes: number;
  /** Those findings' ids (vulnerability and package), riskiest first. */
  removed: string[];
  /** Findings the candidate itself carries. */
  carries: number;
  riskRemoved: number;
  sameFamily: boolean;
  /** The candidate's OS release still gets security updates. */
  supported: boolean;
}

export interface Advice {
  schemaVersion: 1;
  image: string;
  os?: string;
  baseLayers: number;
  upgrades: Upgrade[];
  unfixable: Array<{ id: string; package: string; version: string; status: string }>;
  base?: { current?: string; candidates: BaseCandidate[]; recommended?: BaseCandidate };
  plan?: { environment: string; passes: boolean; steps: string[] };
}

/**
 * How many of the first layers are the base image: the layers before the first history step that
 * is not an ADD/COPY of a root filesystem. An image built FROM a base shares its first layers;
 * without a better signal (base annotations, a candidate with the same layers) the first is it.
 */
export function baseLayerCount(r: ScanResult, candidates: ScanResult[] = []): number {
  const mine = r.image.layers.map((l) => l.diffId);
  let best = 0;
  for (const c of candidates) {
    const theirs = c.image.layers.map((l) => l.diffId);
    let n = 0;
    while (n < theirs.length && n < mine.length && theirs[n] && theirs[n] === mine[n]) n++;
    if (n === theirs.length) best = Math.max(best, n);
  }
  return best || Math.min(1, mine.length);
}

export function upgrades(
  r: ScanResult,
  baseLayers: number,
): { upgrades: Upgrade[]; unfixable: Advice['unfixable'] } {
  const byPkg = new Map<string, Finding[]>();
  for (const f of r.findings) {
    const k = `${f.package.purl}|${f.package.path ?? ''}`;
    byPkg.set(k, [...(byPkg.get(k) ?? []), f]);
  }
  const out: Upgrade[] = [];
  const unfixable: Advice['unfixable'] = [];
  for (const list of byPkg.values()) {
    const p = list[0].package;
    const fixable = list.filter((f) => f.status === 'fixed' && f.fixedVersion);
    for (const f of list.filter((x) => !(x.status === 'fixed' && x.fixedVersion)))
      unfixable.push({ id: f.id, package: p.name, version: p.version, status: f.status });
    if (!fixable.length) continue;
    const scheme = schemeForPurlType(p.type);
    // The smallest version that fixes every fixable finding is the highest of their fixed versions.
    const to = fixable
      .map((f) => f.fixedVersion!)
      .reduce((a, b) => (scheme ? (scheme.compare(a, b) >= 0 ? a : b) : a > b ? a : b));
    out.push({
      package: p.name,
      type: p.type,
      from: p.version,
      to,
      fixes: fixable.map((f) => f.id),
      riskRemoved: fixable.reduce((s, f) => s + f.risk.score, 0),
      inBase: p.layer !== undefined && p.layer.index < baseLayers,
    });
  }
  return {
    upgrades: out.sort((a, b) => b.riskRemoved - a.riskRemoved || a.package.localeCompare(b.package)),
    unfixable,
  };
}

/** Rank candidate base images by the findings they would remove from the image's base part. */
export function rankBases(r: ScanResult, candidates: ScanResult[], baseLayers: number): BaseCandidate[] {
  const baseFindings = r.findings.filter(
    (f) => f.package.layer !== undefined && f.package.layer.index < baseLayers,
  );
  const family = (s: ScanResult) => s.os?.id;
  return (
    candidates
      .map((c) => {
        const theirs = new Set(c.findings.map((f) => `${f.id}|${f.package.name}`));
        const removed = baseFindings.filter((f) => !theirs.has(`${f.id}|${f.package.name}`));
        return {
          image: c.image.name,
          os: c.os ? `${c.os.id} ${c.os.version}` : undefined,
          removes: removed.length,
          removed: [...removed]
            .sort((a, b) => b.risk.score - a.risk.score)
            .map((f) => `${f.id} in ${f.package.name}`),
          carries: c.findings.length,
          riskRemoved:
            removed.reduce((s, f) => s + f.risk.score, 0) - c.findings.reduce((s, f) => s + f.risk.score, 0),
          sameFamily: !!family(r) && family(r) === family(c),
          supported: !c.os?.eol?.endOfLife,
          version: c.os?.version ?? '',
        };
      })
      // Same distro family first, then supported releases, then what removes the most risk, then
      // the newer release.
      .sort(
        (a, b) =>
          Number(b.sameFamily) - Number(a.sameFamily) ||
          Number(b.supported) - Number(a.supported) ||
          b.riskRemoved - a.riskRemoved ||
          a.carries - b.carries ||
          b.version.localeCompare(a.version, undefined, { numeric: true }),
      )
      .map(({ version: _v, ...c }) => c)
  );
}

/** Steps that make each failing rule pass, drawing on the upgrades and the recommended base. */
export function planFor(rules: RuleResult[], a: Pick<Advice, 'upgrades' | 'base'>, r: ScanResult): string[] {
  const steps: string[] = [];
  const rec = a.base?.recommended;
  for (const rule of rules.filter((x) => x.status === 'fail')) {
    switch (rule.check) {
      case 'vulnerabilities':
      case 'known-exploited':
      case 'epss': {
        const ids = new Set(rule.offending.map((o) => o.split(' ')[0].replace(/:$/, '')));
        const needed = a.upgrades.filter((u) => u.fixes.some((id) => ids.has(id)));
        const viaBase = rec && needed.some((u) => u.inBase);
        if (viaBase)
          steps.push(
            `${rule.id}: move the base image to ${rec!.image} (${rec!.os ?? ''}; removes ${rec!.removes} base-image vulnerabilities)`,
          );
        for (const u of needed.filter((x) => !(viaBase && x.inBase)))
          steps.push(`${rule.id}: upgrade ${u.package} ${u.from} → ${u.to} (fixes ${u.fixes.join(', ')})`);
        const left = [...ids].filter((id) => !needed.some((u) => u.fixes.includes(id)));
        if (left.length)
          steps.push(
            `${rule.id}: no fix published for ${left.join(', ')}: record an exception with a reason and expiry, or a VEX statement, or remove the package`,
          );
        break;
      }
      case 'base-image-supported':
        steps.push(
          rec?.supported
            ? `${rule.id}: move the base image to ${rec.image} (${rec.os ?? ''})`
            : rec
              ? `${rule.id}: ${rec.image} is the best candidate (removes ${rec.removes}) but ${rec.os ?? 'its release'} is end of life too: choose a supported release of ${r.os?.id ?? 'the base OS'}`
              : `${rule.id}: move to a supported release of ${r.os?.id ?? 'the base OS'} (give candidates with --base-candidates)`,
        );
        break;
      case 'base-image-current':
        steps.push(
          rec
            ? `${rule.id}: move the base image to ${rec.image} (${rec.os ?? ''})`
            : `${rule.id}: move to a newer release of ${r.os?.id ?? 'the base OS'}`,
        );
        break;
      case 'non-root':
        steps.push(`${rule.id}: add USER with a non-root UID to the final stage`);
        break;
      case 'healthcheck':
        steps.push(`${rule.id}: add HEALTHCHECK CMD … to the Dockerfile`);
        break;
      case 'no-secrets':
        steps.push(
          `${rule.id}: revoke the ${rule.offending.length} exposed secret(s), remove them from the build (deleting in a later layer is not enough), pass them at run time`,
        );
        break;
      case 'licenses':
        steps.push(
          `${rule.id}: replace or get approval for ${rule.offending.map((o) => o.split(':')[0]).join(', ')}`,
        );
        break;
      default:
        steps.push(`${rule.id}: ${rule.description} (${rule.offending.length} offending)`);
    }
  }
  return steps;
}

export function adviceTable(a: Advice): string {
  const lines = [`${a.image} · ${a.os ?? 'unknown OS'} · base image: first ${a.baseLayers} layer(s)`, ''];
  if (a.plan) {
    lines.push(
      a.plan.passes
        ? `Already passes the ${a.plan.environment} policy.`
        : `To pass the ${a.plan.environment} policy:`,
    );
    a.plan.steps.forEach((s, i) => lines.push(`  ${i + 1}. ${s}`));
    lines.push('');
  }
  if (a.base) {
    lines.push(`Base image${a.base.current ? ` (now ${a.base.current})` : ''}:`);
    for (const c of a.base.candidates)
      lines.push(
        `  ${c.image === a.base.recommended?.image ? '→' : ' '} ${c.image}  ${c.os ?? ''}  removes ${c.removes}, carries ${c.carries}${c.supported ? '' : '  (end of life)'}${c.sameFamily ? '' : '  (other distro family)'}`,
      );
    lines.push('');
  }
  lines.push(a.upgrades.length ? 'Upgrades, most risk removed first:' : 'No fixable vulnerabilities.');
  for (const u of a.upgrades)
    lines.push(
      `  ${u.package}  ${u.from} → ${u.to}  removes risk ${u.riskRemoved} (${u.fixes.length} finding${u.fixes.length === 1 ? '' : 's'}: ${u.fixes.slice(0, 4).join(', ')}${u.fixes.length > 4 ? ', …' : ''})${u.inBase ? '  [base image]' : ''}`,
    );
  if (a.unfixable.length)
    lines.push(
      '',
      `No fix yet (${a.unfixable.length}): ${a.unfixable
        .slice(0, 10)
        .map((u) => `${u.id} in ${u.package}`)
        .join(', ')}${a.unfixable.length > 10 ? ', …' : ''}`,
    );
  lines.push('');
  return lines.join('\n');
}

/**
 * Candidate tags for a base image named by reference (`org.opencontainers.image.base.name`):
 * version-like tags of the same repository at or above the current one, newest first, at most
 * `max`. `alpine:3.18` → `alpine:3.18`, `alpine:3.19`, `alpine:3.20`…
 */
export function candidateTags(current: string | undefined, tags: string[], max = 5): string[] {
  const ver = (t: string) => /^v?(\d+(?:\.\d+){0,2})$/.exec(t)?.[1];
  const cur = current ? ver(current) : undefined;
  // Same granularity as the current tag (3.18 → other x.y tags), so patch tags do not crowd out.
  const depth = cur ? cur.split('.').length : 2;
  return tags
    .filter((t) => {
      const v = ver(t);
      return v && v.split('.').length === depth && (!cur || compareDotted(v, cur) >= 0);
    })
    .sort((a, b) => compareDotted(ver(b)!, ver(a)!))
    .slice(0, max);
}
