import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { CustomsError } from '../errors.js';
import { progressBytes } from '../progress.js';
import { decompressor, sniff, sniffCompression, type Compression } from './compression.js';
import { hashFileRange, OFF_THREAD_MIN_BYTES } from './hasher.js';
import type { Limits } from './limits.js';
import type { FileEntry, FileType, LayerContent, LayerInfo } from './model.js';
import { baseName, normalizeEntryPath, parentOf } from './paths.js';

import { ProbeSet, type ProbeFactory } from './probe.js';

/** Which files to keep (from the path alone), and probes that read others as they stream past. */
export interface Wants {
  (path: string): boolean;
  probes?: ProbeFactory[];
  /** Names what this predicate keeps (its catalogers), for the analysis cache's key. */
  key?: string;
}

export interface ReadLayerResult extends LayerContent {
  /** sha256 of the bytes as stored. */
  blobDigest: string;
  /** sha256 of the uncompressed tar (the diff_id). */
  tarDigest: string;
  compression: Compression;
  blobBytes: number;
  tarBytes: number;
  warnings: string[];
}

/** Counts (and, given a hash, hashes) the bytes flowing through, and enforces the decompression bounds. */
class Meter extends Transform {
  bytes = 0;
  hash?: Hash;
  constructor(
    private readonly check?: (bytes: number) => void,
    private readonly onBytes?: (n: number) => void,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes?.(chunk.length);
    this.hash?.update(chunk);
    try {
      this.check?.(this.bytes);
    } catch (err) {
      cb(err as Error);
      return;
    }
    cb(null, chunk);
  }
}

/** Where a layer's blob lies in a local file, so its digest can be taken there, off the main thread. */
export interface BlobFile {
  path: string;
  start: number;
  /** Exclusive. */
  end: number;
}

const ENTRY_TYPES: Record<string, FileType> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'dir',
  symlink: 'symlink',
  link: 'hardlink',
};

/**
 * Stream one layer blob (gzip, zstd or plain tar) into an index of its entries. Only the files
 * `wants` accepts are kept in memory; everything else is metadata. Nothing is written to disk.
 * `file` says where the blob's bytes lie on disk (the same bytes `blob` streams): a large blob is
 * then hashed there by the hashing thread while this one parses.
 */
export async function readLayer(
  blob: Readable,
  info: LayerInfo,
  wants: Wants,
  limits: Limits,
  file?: BlobFile,
): Promise<ReadLayerResult> {
  const files = new Map<string, FileEntry>();
  const whiteouts = new Set<string>();
  const opaqueDirs = new Set<string>();
  const warnings: string[] = [];
  const raw = new Meter(undefined, progressBytes);
  raw.hash = createHash('sha256');
  let fileDigest: Promise<{ digest: string; bytes: number }> | undefined;
  const layerName = `layer ${info.index + 1}${info.digest ? ` (${info.digest.slice(0, 19)})` : ''}`;
  // The tar hash is made once the compression is known: an uncompressed blob is its own tar.
  let tarHash: Hash | undefined;
  // A failed read still waits for the hashing thread: it holds the process open until then.
  const settle = () => fileDigest?.catch(() => undefined);
  const tarMeter = new Meter((bytes) => {
    if (bytes > limits.maxLayerBytes) {
      throw new CustomsError(
        `${layerName} expands past ${limits.maxLayerBytes} bytes: refusing a possible decompression bomb (raise --max-layer-size)`,
      );
    }
    if (bytes > limits.ratioFloorBytes && raw.bytes > 0 && bytes / raw.bytes > limits.maxRatio) {
      throw new CustomsError(
        `${layerName} expands more than ${limits.maxRatio}x its compressed size: refusing a possible decompression bomb (raise --max-layer-size)`,
      );
    }
  });

  const metered = blob.pipe(raw);
  blob.on('error', (err) => raw.destroy(err));
  const { head, rest } = await sniff(metered);
  const compression = sniffCompression(head);
  // A large uncompressed blob is hashed from its file by the hashing thread. A compressed one stays
  // here: its gunzip already keeps the second core busy (measured slower and larger otherwise).
  if (compression === 'none' && file && file.end - file.start >= OFF_THREAD_MIN_BYTES) {
    raw.hash = undefined;
    fileDigest = hashFileRange(file.path, file.start, file.end);
    fileDigest.catch(() => undefined); // awaited below
  }
  if (compression !== 'none') tarMeter.hash = tarHash = createHash('sha256');
  const extract = tar.extract();
  const dec = decompressor(compression);
  const stages: NodeJS.ReadWriteStream[] = dec ? [dec, tarMeter] : [tarMeter];
  const piping = pipeline(rest, ...(stages as [Transform]), extract).catch((err: unknown) => err);

  let checkedDir: string | undefined;
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const path = normalizeEntryPath(h.name);
      const type = ENTRY_TYPES[h.type ?? 'file'] ?? 'other';
      if (path === '') {
        entry.resume();
        continue;
      }
      // A layer never needs to write through a symlink it just created; tar-based escapes do.
      // Entries come folder by folder: a folder checked once stays clean until a symlink is added.
      const dir = parentOf(path);
      if (dir !== checkedDir) {
        for (let p = dir; p !== ''; p = parentOf(p)) {
          if (files.get(p)?.type === 'symlink') {
            throw new CustomsError(`hostile tar entry "${h.name}": written through the symlink "${p}"`);
          }
        }
        checkedDir = dir;
      }
      const name = baseName(path);
      if (name.startsWith('.wh.')) {
        if (name === '.wh..wh..opq') opaqueDirs.add(parentOf(path));
        else if (!name.startsWith('.wh..wh.')) {
          const dir = parentOf(path);
          whiteouts.add((dir ? dir + '/' : '') + name.slice(4));
        }
        entry.resume();
        continue;
      }
      const fe: FileEntry = { type, size: h.size ?? 0, mode: h.mode ?? 0 };
      let probes: ProbeSet | undefined;
      if (type === 'symlink') {
        fe.linkname = h.linkname ?? '';
        checkedDir = undefined;
      }
      if (type === 'hardlink') fe.linkname = normalizeEntryPath(h.linkname ?? '');
      if (type === 'file' && wants(path)) {
        if (fe.size > limits.maxFileBytes) {
          warnings.push(
            `${path}: ${fe.size} bytes is larger than the ${limits.maxFileBytes}-byte read limit; skipped`,
          );
          entry.resume();
        } else {
          limits.budget?.take(fe.size, `${layerName}: ${path}`);
          const chunks: Buffer[] = [];
          for await (const c of entry) chunks.push(c as Buffer);
          fe.content = Buffer.concat(chunks);
        }
      } else if (
        type === 'file' &&
        wants.probes?.length &&
        !(probes = new ProbeSet(wants.probes, path, fe.mode, fe.size, limits.budget)).empty
      ) {
        for await (const c of entry) probes.push(c as Buffer);
        fe.probes = probes.finish();
        warnings.push(...probes.warnings);
      } else if (type === 'hardlink' && wants(path)) {
        const target = files.get(fe.linkname!);
        if (target?.content) fe.content = target.content;
        entry.resume();
      } else {
        entry.resume();
      }
      files.set(path, fe);
    }
  } catch (err) {
    blob.destroy();
    raw.destroy();
    await piping;
    await settle();
    throw explainStreamError(err, layerName);
  }
  const pipeErr = await piping;
  if (pipeErr) {
    await settle();
    throw explainStreamError(pipeErr, layerName);
  }

  const blobDigest = fileDigest
    ? await fileDigestOf(fileDigest, raw.bytes, layerName)
    : 'sha256:' + raw.hash!.digest('hex');
  return {
    info,
    files,
    whiteouts,
    opaqueDirs,
    blobDigest,
    tarDigest: tarHash ? 'sha256:' + tarHash.digest('hex') : blobDigest,
    compression,
    blobBytes: raw.bytes,
    tarBytes: tarMeter.bytes,
    warnings,
  };
}

/** The file's digest, once it is sure the file held the bytes just read (no more, no fewer). */
async function fileDigestOf(
  p: Promise<{ digest: string; bytes: number }>,
  read: number,
  layerName: string,
): Promise<string> {
  const { digest, bytes } = await p.catch((err: Error) => {
    throw new CustomsError(`${layerName} could not be hashed (${err.message})`, undefined, { cause: err });
  });
  if (bytes !== read)
    throw new CustomsError(`${layerName} changed while it was read (${read} bytes read, ${bytes} hashed)`);
  return digest;
}

function explainStreamError(err: unknown, layerName: string): Error {
  if (err instanceof CustomsError) return err;
  const e = err as NodeJS.ErrnoException;
  const msg = e?.message ?? String(err);
  if (e?.code === 'Z_BUF_ERROR' || /unexpected end|premature|truncated/i.test(msg)) {
    return new CustomsError(`${layerName} is truncated (${msg})`, undefined, { cause: err });
  }
  if (e?.code === 'Z_DATA_ERROR' || /zstd|invalid tar|header/i.test(msg)) {
    return new CustomsError(`${layerName} is corrupt (${msg})`, undefined, { cause: err });
  }
  return new CustomsError(`${layerName} could not be read (${msg})`, undefined, { cause: err });
}
