import { createHash } from 'node:crypto';
import { Ajv } from 'ajv';
import type { Package } from '../catalog/model.js';
import type { OsInfo } from '../catalog/os-release.js';
import { CustomsError } from '../errors.js';
import type { ImageMetadata } from '../image/model.js';
import { parseReference } from '../image/registry/reference.js';

/**
 * A CI upload (`customs … --report-to`): its JSON schema, and the one parser that turns bytes into
 * what the match job reads. Every field the match job reads without a default is typed here, and
 * every optional one gets its default in `normalise`: a report the schema accepts is one the match
 * job can match (an upload without `image.warnings` once failed every match job it queued).
 */

export interface Report {
  /** `source`: where the client read the image (registry, docker daemon, local archive, local folder, sbom). */
  image: ImageMetadata & { source?: string };
  os?: OsInfo;
  packages: Package[];
  context?: { repository?: string; commit?: string; pipelineUrl?: string; environment?: string };
}

const strings = { type: 'array', items: { type: 'string' } } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;

export const MAX_REPORT_PACKAGES = 200_000;
export const MAX_REPORT_BYTES = 64 * 1024 * 1024;
/** Deeper JSON is refused before parsing: nothing in a report nests past a handful of levels. */
const MAX_DEPTH = 64;

export const reportSchema = {
  type: 'object',
  required: ['image', 'packages'],
  properties: {
    image: {
      type: 'object',
      required: ['name'],
      additionalProperties: true,
      properties: {
        name: { type: 'string' },
        source: { type: 'string', maxLength: 64 },
        target: { type: 'string' },
        kind: { type: 'string' },
        manifestDigest: { type: 'string', pattern: '^sha256:[a-f0-9]{64}$' },
        configDigest: { type: 'string', pattern: '^sha256:[a-f0-9]{64}$' },
        repoTags: strings,
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        annotations: { type: 'object', additionalProperties: { type: 'string' } },
        history: { type: 'array', items: anyObject },
        layers: { type: 'array', items: anyObject },
        config: anyObject,
        warnings: strings,
      },
    },
    os: anyObject,
    packages: {
      type: 'array',
      maxItems: MAX_REPORT_PACKAGES,
      items: {
        type: 'object',
        required: ['name', 'version', 'type', 'purl'],
        additionalProperties: true,
        properties: {
          name: { type: 'string' },
          version: { type: 'string' },
          type: { type: 'string' },
          purl: { type: 'string' },
          arch: { type: 'string' },
          epoch: { type: 'integer' },
          release: { type: 'string' },
          source: {
            type: 'object',
            required: ['name'],
            properties: { name: { type: 'string' }, version: { type: 'string' } },
          },
          licenses: strings,
          foundBy: { type: 'string' },
          locations: { type: 'array', items: anyObject },
          files: strings,
          ownedBy: { type: 'string' },
          symbols: strings,
        },
      },
    },
    context: {
      type: 'object',
      additionalProperties: false,
      properties: {
        repository: { type: 'string', maxLength: 500 },
        commit: { type: 'string', maxLength: 200 },
        pipelineUrl: { type: 'string', maxLength: 2000 },
        environment: { type: 'string', maxLength: 100 },
      },
    },
  },
} as const;

let validator: ReturnType<Ajv['compile']> | undefined;

/**
 * Bytes → a report the match job can use, or a CustomsError naming the problem (the API answers
 * 400 with it). Runs in a worker thread on the server: a 200k-package upload takes a second of CPU.
 */
export function parseReport(bytes: Buffer | Uint8Array): Report {
  if (bytes.length > MAX_REPORT_BYTES)
    throw new CustomsError(`the report is ${bytes.length} bytes; at most ${MAX_REPORT_BYTES} are taken`);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
  if (nesting(text) > MAX_DEPTH)
    throw new CustomsError(`the request body nests deeper than ${MAX_DEPTH} levels`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new CustomsError(`the request body is not valid JSON: ${(err as Error).message}`);
  }
  validator ??= new Ajv({ allErrors: false, strict: false }).compile(reportSchema);
  if (!validator(body)) {
    const e = validator.errors?.[0];
    throw new CustomsError(`body${e?.instancePath ?? ''} ${e?.message ?? 'is not a report'}`);
  }
  return normalise(body as Report);
}

/** The deepest nesting of brackets outside strings (JSON.parse recurses: depth must be bounded first). */
function nesting(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) max = depth;
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/** Defaults for what the schema leaves optional and the match job reads. */
export function normalise(r: Report): Report {
  const packages = r.packages.map((p) => ({
    ...p,
    licenses: p.licenses ?? [],
    foundBy: p.foundBy ?? 'report',
    locations: p.locations ?? [],
  }));
  return { ...r, image: normaliseImage(r.image), packages };
}

/** An uploaded image's metadata with every list the match job iterates present. */
export function normaliseImage(i: ImageMetadata): ImageMetadata {
  return {
    ...i,
    target: i.target ?? `report:${i.name}`,
    kind: i.kind ?? 'sbom',
    repoTags: i.repoTags ?? [],
    labels: i.labels ?? {},
    history: i.history ?? [],
    layers: i.layers ?? [],
    warnings: i.warnings ?? [],
  };
}

/** The digest a report is kept under: the image's, else one made from its package list. */
export function reportDigest(r: Report): string {
  return (
    r.image.manifestDigest ??
    r.image.configDigest ??
    `sha256:${createHash('sha256')
      .update(JSON.stringify(r.packages.map((p) => p.purl).sort()))
      .digest('hex')}`
  );
}

/**
 * Where a report says its image lives (the CI context's repository, else its first tag). A local
 * archive or folder (the client says `image.source`) came from no registry: it keeps its own name
 * under the pseudo-registry "local" instead of being read as docker.io/<tag>.
 */
export function reportPlace(r: Report): { registry: string; repository: string; tag?: string } {
  const local = !r.context?.repository && /^local /.test(String(r.image.source ?? ''));
  if (local) {
    const name = r.image.name || 'unnamed';
    const m = /^(.+?):([\w][\w.-]{0,127})$/.exec(name);
    return m && !m[1].endsWith('/')
      ? { registry: 'local', repository: m[1], tag: m[2] }
      : { registry: 'local', repository: name };
  }
  const named = r.context?.repository ?? r.image.repoTags?.[0];
  if (!named) return { registry: 'ci', repository: r.image.name || 'unnamed' };
  try {
    const ref = parseReference(named);
    return { registry: ref.domain, repository: ref.repository, tag: ref.tag };
  } catch {
    return { registry: 'ci', repository: named };
  }
}

/**
 * What a report left out or got wrong against what the server read itself: packages missing from
 * it, and packages it lists at another version (by name and type).
 */
export function inventoryDisagreement(
  server: { packages: Package[] },
  reported: { packages: Package[] },
): { omitted: number; versionDiffers: number; extra: number; examples: string[]; total: number } {
  const key = (p: Package) => `${p.type}/${p.name}`;
  const theirs = new Map<string, Set<string>>();
  for (const p of reported.packages) {
    const k = key(p);
    if (!theirs.has(k)) theirs.set(k, new Set());
    theirs.get(k)!.add(p.version);
  }
  const ours = new Set(server.packages.map(key));
  let omitted = 0;
  let versionDiffers = 0;
  const examples: string[] = [];
  for (const p of server.packages) {
    const v = theirs.get(key(p));
    if (!v) omitted++;
    else if (!v.has(p.version)) versionDiffers++;
    else continue;
    if (examples.length < 10) examples.push(`${p.name} ${p.version}${v ? ` (reported ${[...v][0]})` : ''}`);
  }
  const extra = [...theirs.keys()].filter((k) => !ours.has(k)).length;
  return { omitted, versionDiffers, extra, examples, total: server.packages.length };
}
