import type { ImageMetadata } from '../image/model.js';
import { mask, SECRET_NAME, secretValues } from './rules.js';

/** `NAME=value` pairs (ENV, ARG, build args in history); bounded so that hostile text stays linear. */
const ASSIGN = /\b([A-Za-z_][A-Za-z0-9_]{0,127})=("[^"\n]{0,1024}"|'[^'\n]{0,1024}'|[^\s"']{1,1024})/g;

/** A text with every secret the rules find, and every value of a credential-named variable, masked. */
export function maskText(text: string): string {
  let out = text;
  for (const s of secretValues(text)) out = out.split(s).join(mask(s));
  return out.replace(ASSIGN, (all, name: string, value: string) => {
    const bare = value.replace(/^["']|["']$/g, '');
    return SECRET_NAME.test(name) && bare.length >= 6 && !bare.includes('*****')
      ? `${name}=${mask(bare)}`
      : all;
  });
}

const maskValue = (key: string, value: string): string =>
  SECRET_NAME.test(key) && value.length >= 6 ? mask(value) : maskText(value);

/**
 * Image metadata echoed in reports (config Env, labels, annotations, history, layer steps) with
 * secrets masked, in place: layer records are shared by packages, findings and secrets, so one
 * pass covers every output format. Run after the secret and config checks have read the originals.
 */
export function maskImageMetadata(meta: ImageMetadata): ImageMetadata {
  if (meta.config?.env) meta.config.env = meta.config.env.map(maskText);
  if (meta.config?.entrypoint) meta.config.entrypoint = meta.config.entrypoint.map(maskText);
  if (meta.config?.cmd) meta.config.cmd = meta.config.cmd.map(maskText);
  for (const rec of [meta.labels, meta.annotations]) {
    if (!rec) continue;
    for (const [k, v] of Object.entries(rec)) rec[k] = maskValue(k, v);
  }
  for (const h of meta.history) {
    if (h.createdBy) h.createdBy = maskText(h.createdBy);
    if (h.comment) h.comment = maskText(h.comment);
  }
  for (const l of meta.layers) if (l.createdBy) l.createdBy = maskText(l.createdBy);
  return meta;
}
