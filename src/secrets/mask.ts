import type { ImageMetadata } from '../image/model.js';
import { mask, SECRET_NAME, secretValues } from './rules.js';
import { Redactions } from './redact.js';

/** `NAME=value` pairs (ENV, ARG, build args in history); bounded so that hostile text stays linear. */
const ASSIGN = /\b([A-Za-z_][A-Za-z0-9_]{0,127})=("[^"\n]{0,1024}"|'[^'\n]{0,1024}'|[^\s"']{1,1024})/g;

/** The values of credential-named variables assigned in a text (unquoted). */
function namedValues(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(ASSIGN)) {
    const bare = m[2].replace(/^["']|["']$/g, '');
    if (SECRET_NAME.test(m[1]) && bare.length >= 6 && !bare.includes('*****')) out.push(bare);
  }
  return out;
}

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

/** The texts of image metadata that can carry a secret, with the name they are assigned to when known. */
function metadataTexts(meta: ImageMetadata): Array<{ key?: string; text: string }> {
  return [
    ...(meta.config?.env ?? []).map((text) => ({ text })),
    ...(meta.config?.entrypoint ?? []).map((text) => ({ text })),
    ...(meta.config?.cmd ?? []).map((text) => ({ text })),
    ...[meta.labels, meta.annotations].flatMap((rec) =>
      Object.entries(rec ?? {}).map(([key, text]) => ({ key, text })),
    ),
    ...meta.history.flatMap((h) => [h.createdBy, h.comment]).map((text) => ({ text: text ?? '' })),
    ...meta.layers.map((l) => ({ text: l.createdBy ?? '' })),
  ];
}

/**
 * Every secret value the image metadata holds (rule matches, values of credential-named
 * variables, labels and annotations), added to a scan's redactions: the same value elsewhere (a
 * label that quotes it, a path) is masked too.
 */
export function metadataSecrets(meta: ImageMetadata, into: Redactions): Redactions {
  for (const { key, text } of metadataTexts(meta)) {
    for (const s of secretValues(text)) into.add(s);
    for (const s of namedValues(text)) into.addNamed(s);
    if (key && SECRET_NAME.test(key) && text.length >= 6) into.addNamed(text);
  }
  return into;
}

/**
 * Image metadata echoed in reports (config Env, labels, annotations, history, layer steps) with
 * secrets masked, in place: layer records are shared by packages, findings and secrets, so one
 * pass covers every output format. Run after the secret and config checks have read the originals;
 * `redactions` (the scan's) then masks the values found elsewhere in the image as well.
 */
export function maskImageMetadata(meta: ImageMetadata, redactions?: Redactions): ImageMetadata {
  const found = redactions ?? metadataSecrets(meta, new Redactions());
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
  found.apply(meta);
  return meta;
}
