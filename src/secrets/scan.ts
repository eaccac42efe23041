import { LayeredFileSystem } from '../image/filesystem.js';
import type { OpenedImage } from '../image/model.js';
import type { ProbeFactory } from '../image/probe.js';
import type { NotSearchedReason, SecretCoverage, SecretFinding, SecretMatch } from '../model/secrets.js';
import { DEFAULT_SECRET_MAX_FILE } from '../model/secrets.js';
import type { SeverityLevel } from '../model/severity.js';
import { metadataSecrets } from './mask.js';
import type { Redactions } from './redact.js';
import { findSecrets, mask, mayHoldSecrets, SECRET_NAME, secretValues } from './rules.js';

// The report's types live in model/; re-exported for the callers that know them from here.
export type { NotSearchedReason, SecretCoverage, SecretFinding } from '../model/secrets.js';

/**
 * What the probe keeps of a file: the masked matches for the report, and the raw values for the
 * scan's redactions only (never printed; an analysis-cache entry holding them is private to the user).
 */
export interface SecretProbeResult {
  matches: SecretMatch[];
  values: string[];
}

export { DEFAULT_SECRET_MAX_FILE, MAX_SECRET_MAX_FILE } from '../model/secrets.js';

/**
 * Documentation, translations, bytecode and the package managers' own databases: large, written by
 * tools, never where a credential is kept.
 */
const SKIP =
  /^(usr\/share\/(doc|man|info|locale|i18n|zoneinfo|mime|icons)\/|usr\/lib\/locale\/|proc\/|sys\/|var\/lib\/(dpkg|rpm|apk)\/|lib\/apk\/db\/|usr\/lib\/sysimage\/rpm\/)|\.(pyc|mo|gz|zst|xz|bz2|png|jpe?g|gif|ico|svg|woff2?|ttf|otf)$/;

/** What the probe keeps for a file it did not search (a list of matches for one it did). */
interface NotSearched {
  notSearched: NotSearchedReason;
}

const isBinary = (b: Buffer) => b.subarray(0, 8192).includes(0);

function search(buf: Buffer): SecretProbeResult | undefined {
  // latin1 decodes at memory speed; UTF-8 only for the few files with a keyword.
  if (!mayHoldSecrets(buf.toString('latin1'))) return undefined;
  const text = buf.toString('utf8');
  const matches = findSecrets(text);
  return matches.length ? { matches, values: secretValues(text) } : undefined;
}

/**
 * Reads each small text file as it streams past, in every layer: a file deleted by a later layer
 * is still in the image, and its secret still leaks to whoever pulls it. A file over `maxFile`
 * bytes or binary is not kept, only marked as not searched.
 */
export function secretProbe(maxFile = DEFAULT_SECRET_MAX_FILE): ProbeFactory {
  return {
    name: 'secret',
    // Results differ with the limit: an analysis cache must not answer one limit with another's.
    key: `secret:${maxFile}`,
    wants: (path, _mode, size) => size > 0 && !SKIP.test(path),
    create() {
      const chunks: Buffer[] = [];
      let bytes = 0;
      let skipped: NotSearchedReason | undefined;
      return {
        push(chunk: Buffer) {
          if (skipped) return;
          // Binary first: a large executable is binary, not "too large to search".
          if (bytes === 0 && isBinary(chunk)) skipped = 'binary';
          else if ((bytes += chunk.length) > maxFile) skipped = 'size';
          if (skipped) chunks.length = 0;
          else chunks.push(chunk);
        },
        done: () => skipped !== undefined,
        finish(): SecretProbeResult | NotSearched | undefined {
          if (skipped) return { notSearched: skipped };
          if (!chunks.length) return undefined;
          const found = search(Buffer.concat(chunks));
          chunks.length = 0;
          return found;
        },
      };
    },
  };
}

const MAX_NAMED = 100;

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MiB`;

/**
 * The one-line warning for files not searched for their size (a clean result does not cover
 * them), with the binary ones counted; undefined when only binary files were passed over (every
 * image has them: executables, libraries).
 */
export function coverageWarning(c: SecretCoverage | undefined): string | undefined {
  if (!c?.notSearched.size) return undefined;
  const big = c.files.filter((f) => f.reason === 'size');
  const named = big
    .slice(0, 10)
    .map((f) => `${f.path} (${mib(f.size)})`)
    .join(', ');
  const more = c.notSearched.size - Math.min(10, big.length);
  return (
    `${c.notSearched.size} file${c.notSearched.size > 1 ? 's' : ''} over the ${mib(c.maxFileSize)} secret search limit not searched for secrets: ${named}${more > 0 ? ` and ${more} more` : ''} (--secret-max-file-size raises the limit)` +
    (c.notSearched.binary
      ? `; ${c.notSearched.binary} binary file${c.notSearched.binary > 1 ? 's' : ''} not searched either`
      : '')
  );
}

/**
 * Secrets in every layer's files (deleted ones included), the config's environment, labels,
 * annotations and the history; and which files were not searched. Files kept whole for the
 * catalogers (lockfiles, package databases, pom.xml) skip the probes, so they are searched here.
 * Every raw value found goes into `redactions`.
 */
export async function collectSecrets(
  image: OpenedImage,
  redactions: Redactions,
  maxFile = DEFAULT_SECRET_MAX_FILE,
): Promise<{ secrets: SecretFinding[]; coverage: SecretCoverage }> {
  const out: SecretFinding[] = [];
  const coverage: SecretCoverage = { maxFileSize: maxFile, notSearched: { size: 0, binary: 0 }, files: [] };
  const binary: SecretCoverage['files'] = [];
  // The final view is built only when a file holds a secret (most images: none).
  let fs: LayeredFileSystem | undefined;
  for (const layer of image.layers) {
    for (const [path, entry] of layer.files) {
      let found = entry.probes?.secret as SecretProbeResult | NotSearched | undefined;
      if (found === undefined && entry.content !== undefined && entry.size > 0 && !SKIP.test(path)) {
        // A file on disk over the limit is not read again just to tell whether it is binary.
        const content =
          typeof entry.content !== 'function'
            ? entry.content
            : entry.size <= maxFile
              ? await entry.content()
              : undefined;
        if (content && isBinary(content)) found = { notSearched: 'binary' };
        else found = !content || content.length > maxFile ? { notSearched: 'size' } : search(content);
      } else if (
        found === undefined &&
        entry.type === 'file' &&
        entry.content === undefined &&
        entry.size > maxFile &&
        !SKIP.test(path)
      )
        // Neither kept nor probed: a file a cataloger wanted but over the read limit (a 600 MB
        // pom.xml). The probe marks every other file over the limit, so this one was not searched.
        found = { notSearched: 'size' };
      if (!found) continue;
      if ('notSearched' in found) {
        coverage.notSearched[found.notSearched]++;
        const list = found.notSearched === 'size' ? coverage.files : binary;
        if (list.length < MAX_NAMED)
          list.push({ path: `/${path}`, reason: found.notSearched, size: entry.size });
        continue;
      }
      for (const v of found.values) redactions.add(v);
      fs ??= new LayeredFileSystem(image.layers);
      const deleted = !fs.exists(path);
      for (const m of found.matches)
        out.push({ ...m, path: `/${path}`, layer: layer.info, ...(deleted ? { deleted: true } : {}) });
    }
  }
  coverage.files.push(...binary.slice(0, MAX_NAMED - coverage.files.length));
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
  return { secrets: out, coverage };
}
