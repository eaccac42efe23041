import { LayeredFileSystem } from '../image/filesystem.js';
import type { LayerInfo, OpenedImage } from '../image/model.js';
import type { ProbeFactory } from '../image/probe.js';
import type { SeverityLevel } from '../rank/severity.js';
import { metadataSecrets } from './mask.js';
import type { Redactions } from './redact.js';
import { findSecrets, mask, mayHoldSecrets, SECRET_NAME, secretValues, type SecretMatch } from './rules.js';

/**
 * What the probe keeps of a file: the masked matches for the report, and the raw values for the
 * scan's redactions only (never printed; an analysis-cache entry holding them is private to the user).
 */
export interface SecretProbeResult {
  matches: SecretMatch[];
  values: string[];
}

/** Files larger than this are not searched (secrets live in small config files, keys, scripts). */
const MAX_FILE = 5 * 1024 * 1024;
/** Documentation, translations and bytecode: large, never where a credential is kept. */
const SKIP =
  /^(usr\/share\/(doc|man|info|locale|i18n|zoneinfo|mime|icons)\/|usr\/lib\/locale\/|proc\/|sys\/)|\.(pyc|mo|gz|zst|xz|bz2|png|jpe?g|gif|ico|svg|woff2?|ttf|otf)$/;

/**
 * Reads each small text file as it streams past, in every layer: a file deleted by a later layer
 * is still in the image, and its secret still leaks to whoever pulls it.
 */
export const secretProbe: ProbeFactory = {
  name: 'secret',
  wants: (path, _mode, size) => size > 0 && size <= MAX_FILE && !SKIP.test(path),
  create() {
    const chunks: Buffer[] = [];
    let binary = false;
    return {
      push(chunk: Buffer) {
        if (binary) return;
        if (!chunks.length && chunk.subarray(0, 8192).includes(0)) {
          binary = true;
          return;
        }
        chunks.push(chunk);
      },
      done: () => binary,
      finish(): SecretProbeResult | undefined {
        if (binary || !chunks.length) return undefined;
        const buf = Buffer.concat(chunks);
        chunks.length = 0;
        // latin1 decodes at memory speed; UTF-8 only for the few files with a keyword.
        if (!mayHoldSecrets(buf.toString('latin1'))) return undefined;
        const text = buf.toString('utf8');
        const matches = findSecrets(text);
        return matches.length ? { matches, values: secretValues(text) } : undefined;
      },
    };
  },
};

export interface SecretFinding extends SecretMatch {
  /** File path inside the image, or `image config` / `history` for what the config carries. */
  path: string;
  layer?: LayerInfo;
  /** The file was removed by a later layer: gone from the filesystem, still in the image. */
  deleted?: boolean;
}

/**
 * Secrets in every layer's files (deleted ones included), the config's environment, labels,
 * annotations and the history; every raw value found goes into `redactions`.
 */
export function collectSecrets(image: OpenedImage, redactions: Redactions): SecretFinding[] {
  const out: SecretFinding[] = [];
  // The final view is built only when a file holds a secret (most images: none).
  let fs: LayeredFileSystem | undefined;
  for (const layer of image.layers) {
    for (const [path, entry] of layer.files) {
      const found = entry.probes?.secret as SecretProbeResult | undefined;
      if (!found) continue;
      for (const v of found.values) redactions.add(v);
      fs ??= new LayeredFileSystem(image.layers);
      const deleted = !fs.exists(path);
      for (const m of found.matches)
        out.push({ ...m, path: `/${path}`, layer: layer.info, ...(deleted ? { deleted: true } : {}) });
    }
  }
  const env = image.metadata.config?.env ?? [];
  env.forEach((kv, i) => {
    const eq = kv.indexOf('=');
    const name = kv.slice(0, eq);
    const value = kv.slice(eq + 1);
    const matches = findSecrets(kv);
    if (matches.length) out.push(...matches.map((m) => ({ ...m, path: 'image config (Env)', line: i + 1 })));
    else if (eq > 0 && SECRET_NAME.test(name) && value.length >= 6)
      out.push({
        rule: 'env-secret',
        title: `Secret in the environment (${name})`,
        severity: 'HIGH' as SeverityLevel,
        line: i + 1,
        match: `${name}=${mask(value)}`,
        path: 'image config (Env)',
      });
  });
  image.metadata.history.forEach((h, i) => {
    for (const m of findSecrets(h.createdBy ?? '')) out.push({ ...m, path: 'image history', line: i + 1 });
  });
  // Labels and annotations ship with the image to whoever pulls it, like its files.
  for (const [where, rec] of [
    ['image config (Labels)', image.metadata.labels],
    ['image manifest (annotations)', image.metadata.annotations],
  ] as const)
    Object.entries(rec ?? {}).forEach(([k, v], i) => {
      for (const m of findSecrets(`${k}=${v}`)) out.push({ ...m, path: where, line: i + 1 });
    });
  metadataSecrets(image.metadata, redactions);
  return out;
}
