import { onStage, stage } from './stage.js';

/**
 * A progress line on standard error while an image's layers are read (registry pulls, large
 * layers) or a database is downloaded: stage, layers done of total, bytes read and the rate. Only
 * when standard error is a terminal and -q was not given; redrawn in place at most four times a
 * second and cleared as soon as the scan moves past reading, so reports on standard output never
 * mix with it. One scan runs per process, so module-level counters are enough (as for the stage).
 */
let out: NodeJS.WriteStream | undefined;
let total = 0;
let done = 0;
let bytes = 0;
let started = 0;
let last = 0;
let shown = false;

const MiB = 1024 * 1024;
/** The stages that can take long enough to show their progress. */
const LONG = new Set(['reading the image', 'downloading the database']);

export function enableProgress(stream: NodeJS.WriteStream = process.stderr): void {
  if (!stream.isTTY) return;
  out = stream;
  started = Date.now();
  onStage((s) => (LONG.has(s) ? draw(true) : clear()));
  process.once('exit', clear);
}

/** The layers about to be read. */
export function progressLayers(n: number): void {
  total += n;
  draw(true);
}

export function progressLayerDone(): void {
  done++;
  draw(true);
}

/** Bytes of layer blobs read (compressed, as they come from the file or the registry). */
export function progressBytes(n: number): void {
  bytes += n;
  draw(false);
}

function draw(now: boolean): void {
  if (!out || !LONG.has(stage())) return;
  const t = Date.now();
  if (!now && t - last < 250) return;
  last = t;
  const secs = Math.max(0.001, (t - started) / 1000);
  const layers = total ? ` · layers ${done}/${total}` : '';
  const line = `customs: ${stage()}${layers} · ${(bytes / MiB).toFixed(1)} MiB · ${(bytes / MiB / secs).toFixed(1)} MiB/s`;
  out.write(`\r\x1b[K${line}`);
  shown = true;
}

function clear(): void {
  if (out && shown) out.write('\r\x1b[K');
  shown = false;
}
