import type { Provenance } from '../image/attestations.js';

/** `*` matches any run of characters; everything else literally. */
export function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(value);
}

/** SLSA provenance against builder and source rules: undefined when it passes, else why not. */
export function provenanceProblem(
  list: Provenance[],
  rules: { builders: string[]; sources: string[] },
): string | undefined {
  if (!rules.builders.length && !rules.sources.length) return undefined;
  if (!list.length) return 'no SLSA provenance attestation';
  const fits = list.find(
    (p) =>
      (!rules.builders.length || (p.builder && rules.builders.some((b) => globMatch(b, p.builder!)))) &&
      (!rules.sources.length || (p.sourceRepo && rules.sources.some((s) => globMatch(s, p.sourceRepo!)))),
  );
  if (fits) return undefined;
  const p = list[0];
  return `provenance from builder ${p.builder ?? 'unknown'} and source ${p.sourceRepo ?? 'unknown'} is not trusted here`;
}
