/**
 * What a scan is doing now, for the deadline's message ("…while reading layers"). One scan runs
 * per process (the server runs each in its own), so a module-level value is enough.
 */
let current = 'starting';

export function setStage(stage: string): void {
  current = stage;
}

export function stage(): string {
  return current;
}
