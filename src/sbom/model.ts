import type { Inventory } from '../catalog/index.js';
import type { ImageMetadata } from '../image/model.js';

/** What every SBOM writer and report receives. */
export interface SbomInput {
  image: ImageMetadata;
  inventory: Inventory;
  tool: { name: string; version: string };
  /** Fixed time for reproducible output (tests); now otherwise. */
  created?: Date;
}

export function layerLabel(
  layer: { digest?: string; diffId?: string; createdBy?: string } | undefined,
): string {
  if (!layer) return '';
  const d = (layer.diffId ?? layer.digest ?? '').replace(/^sha256:/, '').slice(0, 12);
  return [d, layer.createdBy ? cleanStep(layer.createdBy) : ''].filter(Boolean).join(' ');
}

/** `/bin/sh -c #(nop)  ADD file:… in /` → `ADD file:… in /`; `/bin/sh -c apk add x` → `RUN apk add x`. */
export function cleanStep(createdBy: string): string {
  let s = createdBy.trim();
  const nop = /^\/bin\/sh -c #\(nop\)\s+(.*)$/s.exec(s);
  if (nop) return nop[1].trim();
  const run = /^(?:\|\d+ [^/]*)?\/bin\/sh -c (.*)$/s.exec(s);
  if (run) return `RUN ${run[1].trim()}`;
  s = s.replace(/\s*# buildkit$/, '');
  return s;
}
