import type { MemoryBudget } from './limits.js';
/**
 * A probe reads a file as its bytes stream past, without keeping the file: how large binaries
 * (Go build info, version strings) are analysed without buffering them. Its result is kept on the
 * file's entry under the probe's name.
 */
export interface Probe {
  push(chunk: Buffer): void;
  /** What the probe learned, or undefined for nothing. */
  finish(): unknown;
  /** True once more bytes cannot change the result (a folder walk then stops reading the file). */
  done?(): boolean;
  /** Dropped before finish (over its time): let go of what it holds (a spooled file). */
  abort?(): void;
}

export interface ProbeFactory {
  name: string;
  /** Decided from the tar header alone. */
  wants(path: string, mode: number, size: number): boolean;
  /** The name and whatever else the results depend on (a limit), for caches of them; default: the name. */
  key?: string;
  /** A probe for the file at `path` (normalised, no leading slash); `budget` is the scan's; `size` the file's. */
  create(path: string, budget?: MemoryBudget, size?: number): Probe;
}

/**
 * How long the probes may spend on one file, in milliseconds. The probes are written to be linear,
 * but one file of a hostile image must not hold a scan (or a server worker) for long if one is
 * not: a probe over its time is dropped for that file with a warning, and the scan goes on.
 */
export const PROBE_MS_PER_FILE = 5_000;

/** Run probes over a stream of chunks. */
export class ProbeSet {
  private readonly active: Array<{ name: string; probe: Probe; ms: number }>;
  /** Probes dropped for running past their time, as warnings naming the file. */
  readonly warnings: string[] = [];
  constructor(
    factories: ProbeFactory[],
    private readonly path: string,
    mode: number,
    size: number,
    budget?: MemoryBudget,
    private readonly msPerFile = PROBE_MS_PER_FILE,
  ) {
    this.active = factories
      .filter((f) => f.wants(path, mode, size))
      .map((f) => ({ name: f.name, probe: f.create(path, budget, size), ms: 0 }));
  }
  get empty(): boolean {
    return this.active.length === 0;
  }
  push(chunk: Buffer): void {
    for (let i = 0; i < this.active.length; i++) {
      const a = this.active[i];
      const t0 = performance.now();
      a.probe.push(chunk);
      a.ms += performance.now() - t0;
      if (a.ms > this.msPerFile) {
        this.warnings.push(
          `${this.path}: the ${a.name} analysis took longer than ${this.msPerFile / 1000} s; skipped for this file`,
        );
        a.probe.abort?.();
        this.active.splice(i--, 1);
      }
    }
  }
  /** Every probe has what it needs: the rest of the file need not be read. */
  get done(): boolean {
    return this.active.every((a) => a.probe.done?.() === true);
  }
  finish(): Record<string, unknown> | undefined {
    let out: Record<string, unknown> | undefined;
    for (const a of this.active) {
      const r = a.probe.finish();
      if (r !== undefined) (out ??= {})[a.name] = r;
    }
    return out;
  }
}

/**
 * Holds back a file's first bytes until `n` have come: a probe that decides by a magic number
 * must not judge a first chunk that a tar stream happened to cut after two bytes. Returns what
 * to process (the held bytes with the chunk), or undefined while still holding.
 */
export function firstBytes(n: number): (chunk: Buffer) => Buffer | undefined {
  let held: Buffer | undefined = Buffer.alloc(0);
  return (chunk) => {
    if (!held) return chunk;
    held = held.length ? Buffer.concat([held, chunk]) : chunk;
    if (held.length < n) return undefined;
    const out = held;
    held = undefined;
    return out;
  };
}

const EXECUTABLE_MAGICS = [
  Buffer.from([0x7f, 0x45, 0x4c, 0x46]), // ELF
  Buffer.from([0xcf, 0xfa, 0xed, 0xfe]), // Mach-O, 64-bit
  Buffer.from('MZ'), // PE
];

/** Starts like an executable a compiler writes (ELF, Mach-O, PE): what binary probes look into. */
export function isExecutable(head: Buffer): boolean {
  return EXECUTABLE_MAGICS.some((m) => head.subarray(0, m.length).equals(m));
}
