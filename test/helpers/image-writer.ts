/**
 * Writes small real images for tests: layer tars (tar-stream), docker-save archives (legacy layout)
 * and OCI layouts, with correct digests, so every source is exercised on inputs we control.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { SHARED } from './paths.js';

export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
}

export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c) => chunks.push(c as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const body = typeof e.content === 'string' ? Buffer.from(e.content) : e.content;
    const header = {
      name: e.name,
      type,
      linkname: e.linkname,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      mtime: new Date(0),
      ...(type === 'file' ? { size: body?.length ?? 0 } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === 'file') pack.entry(header, body ?? Buffer.alloc(0), cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export const sha256 = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

export interface ImageSpec {
  layers: Buffer[]; // uncompressed layer tars
  createdBy?: string[];
  compress?: 'gzip' | 'none';
  /** ociLayout: blobs written as they are in place of the compressed layers (crafted ones). */
  rawBlobs?: Buffer[];
  tag?: string;
  architecture?: string;
  labels?: Record<string, string>;
  env?: string[];
  /** Manifest annotations (OCI layouts only: a docker-save archive has no place for them). */
  annotations?: Record<string, string>;
}

function config(spec: ImageSpec): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: spec.architecture ?? 'amd64',
      os: 'linux',
      config: { Env: spec.env ?? ['PATH=/usr/bin:/bin'], ...(spec.labels ? { Labels: spec.labels } : {}) },
      rootfs: { type: 'layers', diff_ids: spec.layers.map(sha256) },
      history: spec.layers.map((_, i) => ({
        created: '2024-01-01T00:00:00Z',
        created_by: spec.createdBy?.[i] ?? `/bin/sh -c #(nop) ADD layer${i} in /`,
      })),
    }),
  );
}

/** A `docker save` archive in the legacy layout (<id>/layer.tar, <id>.json, manifest.json). */
export async function dockerArchive(spec: ImageSpec): Promise<Buffer> {
  const cfg = config(spec);
  const cfgName = `${sha256(cfg).slice(7)}.json`;
  const entries: TarEntry[] = [];
  const layerPaths: string[] = [];
  spec.layers.forEach((l, i) => {
    const id = createHash('sha256').update(`layer${i}`).update(l).digest('hex');
    entries.push(
      { name: `${id}/`, type: 'directory' },
      { name: `${id}/VERSION`, content: '1.0' },
      { name: `${id}/layer.tar`, content: l },
    );
    layerPaths.push(`${id}/layer.tar`);
  });
  entries.push({ name: cfgName, content: cfg });
  entries.push({
    name: 'manifest.json',
    content: JSON.stringify([
      { Config: cfgName, RepoTags: [spec.tag ?? 'test/image:latest'], Layers: layerPaths },
    ]),
  });
  return makeTar(entries);
}

/** An OCI image layout in a folder (layers gzip-compressed unless told otherwise). */
export function ociLayout(dir: string, spec: ImageSpec): { manifestDigest: string } {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => {
    const d = sha256(b);
    writeFileSync(join(blobs, d.slice(7)), b);
    return { digest: d, size: b.length };
  };
  const cfg = put(config(spec));
  const gz = spec.compress !== 'none';
  const layers = spec.layers.map((l, i) => ({
    mediaType: gz ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
    ...put(spec.rawBlobs?.[i] ?? (gz ? gzipSync(l) : l)),
  }));
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg },
        layers,
        ...(spec.annotations ? { annotations: spec.annotations } : {}),
      }),
    ),
  );
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'org.opencontainers.image.ref.name': spec.tag ?? 'latest' },
        },
      ],
    }),
  );
  return { manifestDigest: manifest.digest };
}

/** Entries of a gzipped root filesystem tarball (e.g. an Alpine minirootfs), as one layer tar. */
export async function rootfsLayer(tgz: Buffer): Promise<Buffer> {
  const { gunzipSync } = await import('node:zlib');
  return gunzipSync(tgz);
}

/**
 * A layer with Alpine 3.7's os-release and an apk database holding only musl (at `version`, or as
 * released: 1.1.18-r3, whose one fixable finding is CVE-2019-14697), plus any `extra` entries.
 */
export function alpineMuslLayer(version?: string, extra: TarEntry[] = []): Promise<Buffer> {
  const tgz = join(SHARED, 'images/alpine/alpine-minirootfs-3.7.3-x86_64.tar.gz');
  const read = (p: string) => spawnSync('tar', ['xzf', tgz, '-O', p], { encoding: 'utf8' }).stdout;
  let stanza = read('./lib/apk/db/installed')
    .split('\n\n')
    .find((s) => /(^|\n)P:musl\n/.test(s))!;
  if (version) stanza = stanza.replace(/\nV:[^\n]+/, `\nV:${version}`);
  return makeTar([
    { name: 'etc/os-release', content: read('./etc/os-release') },
    { name: 'lib/apk/db/installed', content: `${stanza}\n\n` },
    ...extra,
  ]);
}
