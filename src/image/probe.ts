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
}

export interface ProbeFactory {
  name: string;
  /** Decided from the tar header alone. */
  wants(path: string, mode: number, size: number): boolean;
  /** A probe for the file at `path` (normalised, no leading slash); `budget` is the scan's. */
  create(path: string, budget?: MemoryBudget): Probe;
}

/** Run probes over a stream of chunks. */
export class ProbeSet {
  private readonly active: Array<{ name: string; probe: Probe }>;
  constructor(factories: ProbeFactory[], path: string, mode: number, size: number, budget?: MemoryBudget) {
    this.active = factories
      .filter((f) => f.wants(path, mode, size))
      .map((f) => ({ name: f.name, probe: f.create(path, budget) }));
  }
  get empty(): boolean {
    return this.active.length === 0;
  }
  push(chunk: Buffer): void {
    for (const a of this.active) a.probe.push(chunk);
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
