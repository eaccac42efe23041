/**
 * What a scan is doing now, for the deadline's message ("…while reading layers"). One scan runs
 * per process (the server runs each in its own), so a module-level value is enough.
 */
let current = 'starting';
const listeners: Array<(stage: string) => void> = [];

export function setStage(stage: string): void {
  current = stage;
  for (const l of listeners) l(stage);
}

/** Told of every new stage (the progress line follows the scan through them). */
export function onStage(listener: (stage: string) => void): void {
  listeners.push(listener);
}

export function stage(): string {
  return current;
}
