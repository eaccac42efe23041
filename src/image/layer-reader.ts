import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { CustomsError } from '../errors.js';
import { progressBytes } from '../progress.js';
import { decompressor, sniff, sniffCompression, type Compression } from './compression.js';
import { gunzipFileRange, hashFileRange, OFF_THREAD_MIN_BYTES, type BlobDigests } from './hasher.js';
import { fileLimit, tooLarge, type Limits } from './limits.js';
import type { FileEntry, FileType, LayerContent, LayerInfo } from './model.js';
import { baseName, normalizeEntryPath, parentOf } from './paths.js';

import { ProbeSet, type ProbeFactory } from './probe.js';

/** Which files to keep (from the path alone), and probes that read others as they stream past. */
export interface Wants {
  (path: string): boolean;
  probes?: ProbeFactory[];
  /** Names what this predicate keeps (its catalogers), for the analysis cache's key. */
  key?: string;
  /** Kept files parsed in place as bytes (package databases): they may be larger (Limits.maxDatabaseBytes). */
  database?: (path: string) => boolean;
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
 * then read, hashed and (gzip) decompressed there by a helper thread while this one parses.
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
  // What a helper thread hashes (and for gzip, decompresses): large blobs in local files.
  let helped: Promise<BlobDigests> | undefined;
  let helpedRaw = 0;
  const layerName = `layer ${info.index + 1}${info.digest ? ` (${info.digest.slice(0, 19)})` : ''}`;
  // The tar hash is made once the compression is known: an uncompressed blob is its own tar.
  let tarHash: Hash | undefined;
  // A failed read still waits for the helper: it holds the process open until then.
  const settle = () => helped?.catch(() => undefined);
  const tarMeter = new Meter((bytes) => {
    if (bytes > limits.maxLayerBytes) {
      throw new CustomsError(
        `${layerName} expands past ${limits.maxLayerBytes} bytes: refusing a possible decompression bomb (raise --max-layer-size)`,
      );
    }
    const rawBytes = helped ? helpedRaw : raw.bytes;
    if (bytes > limits.ratioFloorBytes && rawBytes > 0 && bytes / rawBytes > limits.maxRatio) {
      throw new CustomsError(
        `${layerName} expands more than ${limits.maxRatio}x its compressed size: refusing a possible decompression bomb (raise --max-layer-size)`,
      );
    }
  });

  const large = file !== undefined && file.end - file.start >= OFF_THREAD_MIN_BYTES;
  let rest: Readable;
  let compression: Compression;
  let stages: NodeJS.ReadWriteStream[];
  if (large && fileCompression(file) === 'gzip') {
    // Read, hashed and decompressed by a helper thread: this one only parses.
    blob.destroy();
    compression = 'gzip';
    const d = gunzipFileRange(file.path, file, (total) => {
      progressBytes(total - helpedRaw);
      helpedRaw = total;
    });
    helped = d.digests;
    rest = d.stream;
    stages = [tarMeter];
  } else {
    const metered = blob.pipe(raw);
    blob.on('error', (err) => raw.destroy(err));
    const sniffed = await sniff(metered);
    rest = sniffed.rest;
    compression = sniffCompression(sniffed.head);
    // A large uncompressed blob is hashed from its file by a helper thread.
    if (compression === 'none' && large) {
      raw.hash = undefined;
      helped = hashFileRange(file.path, file.start, file.end);
      helped.catch(() => undefined); // awaited below
    }
    if (compression !== 'none') tarMeter.hash = tarHash = createHash('sha256');
    const dec = decompressor(compression);
    stages = dec ? [dec, tarMeter] : [tarMeter];
  }
  const extract = tar.extract();
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
        const max = fileLimit(limits, wants.database?.(path) ?? false);
        if (fe.size > max) {
          warnings.push(tooLarge(path, fe.size, max));
          entry.resume();
        } else {
          limits.budget?.take(fe.size, `${layerName}: ${path}`);
          // One buffer of the size the header declares, filled in place: collecting chunks and
          // joining them held every file twice at its peak (a 500 MB file cost 1 GB).
          const content = Buffer.allocUnsafe(fe.size);
          let at = 0;
          for await (const c of entry) {
            const chunk = c as Buffer;
            if (at + chunk.length > fe.size)
              throw new CustomsError(`${layerName}: ${path} holds more bytes than its tar header says`);
            chunk.copy(content, at);
            at += chunk.length;
          }
          if (at !== fe.size)
            throw new CustomsError(`${layerName}: ${path} ends after ${at} of ${fe.size} bytes`);
          fe.content = content;
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
    rest.destroy();
    await piping;
    await settle();
    throw explainStreamError(err, layerName);
  }
  const pipeErr = await piping;
  if (pipeErr) {
    await settle();
    throw explainStreamError(pipeErr, layerName);
  }

  let blobDigest: string;
  let tarDigest: string;
  let blobBytes = raw.bytes;
  if (helped) {
    const d = await helped.catch((err: Error) => {
      throw new CustomsError(`${layerName} could not be read (${err.message})`, undefined, { cause: err });
    });
    // The helper read the file itself: it must have read the very bytes parsed here.
    const read = d.tarDigest ? d.tarBytes : raw.bytes;
    const seen = d.tarDigest ? tarMeter.bytes : d.blobBytes;
    if (read !== seen)
      throw new CustomsError(`${layerName} changed while it was read (${seen} bytes read, ${read} hashed)`);
    blobDigest = d.blobDigest;
    tarDigest = d.tarDigest ?? d.blobDigest;
    if (d.tarDigest) blobBytes = d.blobBytes;
  } else {
    blobDigest = 'sha256:' + raw.hash!.digest('hex');
    tarDigest = tarHash ? 'sha256:' + tarHash.digest('hex') : blobDigest;
  }
  return {
    info,
    files,
    whiteouts,
    opaqueDirs,
    blobDigest,
    tarDigest,
    compression,
    blobBytes,
    tarBytes: tarMeter.bytes,
    warnings,
  };
}

/** The compression of a blob in a file, from its first bytes. */
function fileCompression(file: BlobFile): Compression {
  const fd = openSync(file.path, 'r');
  try {
    const head = Buffer.alloc(4);
    const n = readSync(fd, head, 0, Math.min(4, file.end - file.start), file.start);
    return sniffCompression(head.subarray(0, n));
  } finally {
    closeSync(fd);
  }
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
