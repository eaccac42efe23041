/**
 * One version ordering per ecosystem. Matching asks only two things of a version: how it
 * compares with another, and whether it is one the scheme understands at all.
 */
export interface VersionScheme {
  /** Short name, e.g. `dpkg`. */
  name: string;
  /** Negative, zero or positive, as `a` sorts before, equal to or after `b`. */
  compare(a: string, b: string): number;
  /** False for strings the scheme cannot order meaningfully (compare still answers). */
  valid(v: string): boolean;
}

export function sign(n: number | bigint): number {
  return n > 0 ? 1 : n < 0 ? -1 : 0;
}

/** Compare two strings of digits of any length as numbers. */
export function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Plain code-unit order, as C's strcmp and Go's strings.Compare. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
