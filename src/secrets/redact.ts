import { entropy, mask } from './rules.js';

/** Shorter values are not masked everywhere: a common short word would garble package names. */
const MIN_LENGTH = 8;
/** A value found only by its variable's name (DB_PASSWORD=…) must look random to be masked everywhere. */
const MIN_NAMED_ENTROPY = 3;
/** A hostile image cannot make every string pay for thousands of patterns, or one huge one. */
const MAX_VALUES = 1000;
const MAX_VALUE_LENGTH = 64 * 1024;
const MAX_TOTAL = 1024 * 1024;

/**
 * The secret values one scan found (in files, the environment, labels, annotations, history),
 * masked wherever else they appear: a key written to a file by `RUN echo … > ~/.aws/credentials`
 * is also in that step's history, and a rule sees it there without the context that names it.
 * One set per scan, applied to the whole result, so every format, upload and stored copy is the
 * same masked text.
 */
export class Redactions {
  private readonly values = new Set<string>();
  private total = 0;
  private pattern?: RegExp;

  /** A secret a rule matched (it passed that rule's own checks). */
  add(value: string): void {
    if (value.length < MIN_LENGTH || value.length > MAX_VALUE_LENGTH || value.includes('*****')) return;
    if (this.values.has(value) || this.values.size >= MAX_VALUES || this.total + value.length > MAX_TOTAL)
      return;
    this.values.add(value);
    this.total += value.length;
    this.pattern = undefined;
  }

  /** A value found only by its variable's name: kept when it looks like a credential, not a word. */
  addNamed(value: string): void {
    if (entropy(value) >= MIN_NAMED_ENTROPY) this.add(value);
  }

  get size(): number {
    return this.values.size;
  }

  /** The text with every known secret masked (longest first, so a secret inside another goes too). */
  text(s: string): string {
    if (!this.values.size || s.length < MIN_LENGTH) return s;
    this.pattern ??= new RegExp(
      [...this.values]
        .sort((a, b) => b.length - a.length)
        .map((v) => v.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
        .join('|'),
      'g',
    );
    this.pattern.lastIndex = 0;
    return this.pattern.test(s) ? s.replace(this.pattern, (v) => mask(v)) : s;
  }

  /**
   * Every string in a value (plain objects, arrays, Map values; object keys too: labels are keyed
   * by what a user wrote), masked in place. Buffers and typed arrays are left alone.
   */
  apply<T>(root: T): T {
    if (!this.values.size) return root;
    const seen = new Set<object>();
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return this.text(v);
      if (!v || typeof v !== 'object' || seen.has(v) || ArrayBuffer.isView(v)) return v;
      seen.add(v);
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) v[i] = walk(v[i]);
      } else if (v instanceof Map) {
        for (const [k, x] of v) v.set(k, walk(x));
      } else if (!(v instanceof Set)) {
        const o = v as Record<string, unknown>;
        for (const k of Object.keys(o)) {
          const masked = this.text(k);
          const x = walk(o[k]);
          if (masked !== k) {
            delete o[k];
            o[masked] = x;
          } else o[k] = x;
        }
      }
      return v;
    };
    return walk(root) as T;
  }
}
