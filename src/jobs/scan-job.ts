import { fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CustomsError } from '../errors.js';
import { RegistryClient, type RegistryOptions } from '../image/registry/client.js';
import { artifactReason } from '../image/registry/artifact.js';
import type { Environment, Exposure, ScanResult } from '../model/scan.js';
import { allExposures, exposuresOf } from '../store/deployments.js';
import type { Policy } from '../policy/policy.js';
import { runScan } from '../scan/session.js';
import { dbVersion } from '../services/scans.js';
import type { Db } from '../store/db.js';
import {
  findScan,
  forgetArtifact,
  loadInventoryWithProvenance,
  recordImage,
  saveInventory,
  saveScan,
  type Provenance,
} from '../store/images.js';
import { now } from '../store/db.js';
import { inventoryDisagreement, normaliseImage } from '../services/report.js';
import { noteDisagreement } from '../services/provenance.js';
import { recordOutcome } from '../services/outcome.js';
import { verdictsFor } from '../gate/verdicts.js';
import { findingChanges } from '../store/finding-events.js';
import { registryOptions } from '../store/registries.js';
import type { SecretBox } from '../store/secret-box.js';
import { attestImage, attestSweep } from '../gate/attest/server.js';
import type { Job } from './queue.js';

export interface WorkerDeps {
  db: Db;
  box: SecretBox;
  /** The vulnerability database the worker matches with. */
  dbPath: string;
  /** A scan that runs longer is killed (ms). */
  deadlineMs?: number;
  /** Heap cap of a scan process (MiB). */
  memoryMb?: number;
  /** The policy environments are judged by: a re-match that makes a running image fail it alerts. */
  policy?: Policy;
  log?: (msg: string, fields?: object) => void;
  onScan?: (ms: number, outcome: 'done' | 'skipped' | 'failed', reason?: string) => void;
  /** Scan processes run at a lower CPU priority (inside the server, whose API must answer first). */
  yieldCpu?: boolean;
  /**
   * A new result of this digest was recorded: queue its attestations (the server's queue; a
   * worker thread hands the digest to the thread that owns it).
   */
  afterResult?: (digest: string) => void;
}

/** Run one job; throwing hands it back to the queue for a retry. */
export async function runJob(job: Job, deps: WorkerDeps): Promise<void> {
  const t0 = performance.now();
  deps.log?.('job started', { job });
  try {
    if (job.kind === 'attest') {
      await attestJob(job, deps);
      return;
    }
    const outcome = job.kind === 'scan' ? await scanJob(job, deps) : await matchJob(job, deps);
    deps.onScan?.(performance.now() - t0, outcome);
  } catch (err) {
    const reason = err instanceof CustomsError ? err.line() : (err as Error).message;
    deps.log?.('job failed', { job, reason });
    deps.onScan?.(performance.now() - t0, 'failed', reasonClass(reason));
    throw err;
  }
}

/** Sign and push an image's scan and verdicts, or sweep the attested images (see gate/attest/server.ts). */
async function attestJob(job: Extract<Job, { kind: 'attest' }>, deps: WorkerDeps): Promise<void> {
  // Without the server's policy a verdict would judge nothing and could allow what the gate denies.
  if (!deps.policy) throw new CustomsError('an attestation job needs the server policy');
  const a = { db: deps.db, box: deps.box, policy: deps.policy, log: deps.log };
  if (job.digest) {
    await attestImage(a, job.digest, job.validFor);
    return;
  }
  const r = await attestSweep(a, job.validFor, job.dueBefore);
  if (r.attested || r.failed) deps.log?.('attestations re-signed', r);
}

/** A short label for metrics: what kind of failure this was. */
function reasonClass(reason: string): string {
  if (/deadline/.test(reason)) return 'deadline';
  if (/memory/.test(reason)) return 'memory';
  if (/manifest unknown|no such/.test(reason)) return 'not_found';
  if (/unauthori[sz]ed|denied|credentials|401|403/i.test(reason)) return 'auth';
  if (/timed? ?out|ECONNREFUSED|ECONNRESET|network/i.test(reason)) return 'network';
  return 'scan_error';
}

async function scanJob(job: Extract<Job, { kind: 'scan' }>, deps: WorkerDeps): Promise<'done' | 'skipped'> {
  const registry = await registryOptions(deps.db, deps.box, job.registry);
  if (!registry) throw new CustomsError(`registry ${job.registry} is not configured on this server`);
  let digest = job.digest;
  if (!digest) {
    const client = new RegistryClient(job.registry, registry);
    try {
      digest = (await client.manifest(job.repository, job.tag ?? 'latest')).digest;
    } finally {
      await client.close();
    }
    await recordImage(deps.db, { registry: job.registry, repository: job.repository, digest, tag: job.tag });
  }
  const version = dbVersion(deps.dbPath);
  // Only the server's own result makes its scan needless (a report never stands in for it).
  if (await findScan(deps.db, digest, version, false, 'server-scan')) return 'skipped';
  // A signature, attestation or SBOM manifest pushed by digest (a referrer) looks like any push to
  // the webhook: it is no image to scan, and signing verdicts about it would feed a loop.
  const artifact = await artifactOf(job.registry, registry, job.repository, digest);
  if (artifact) {
    await forgetArtifact(deps.db, { registry: job.registry, repository: job.repository, digest });
    deps.log?.('not an image', { image: `${job.registry}/${job.repository}@${digest}`, reason: artifact });
    return 'skipped';
  }
  const t0 = performance.now();
  const result = await scanInChild(
    `registry:${job.registry}/${job.repository}@${digest}`,
    registry,
    deps,
    await contextOf(deps.db, digest),
  );
  const provenance: Provenance = { kind: 'server-scan', by: job.source, at: now() };
  const inv = await saveInventory(
    deps.db,
    digest,
    { image: result.image, os: result.os, packages: result.packages, warnings: [] },
    provenance,
  );
  // A report stood here until now: does it agree with what the server read?
  if (inv.replaced && inv.replaced.provenance.kind !== 'server-scan')
    await noteDisagreement(deps.db, {
      digest,
      image: `${job.registry}/${job.repository}@${digest}`,
      reported: inv.replaced.provenance,
      disagreement: inventoryDisagreement(result, inv.replaced.inventory),
    });
  // The platform first: once the result is stored the image reads as scanned, platform included
  // (recorded after it, a reader polling for the scan could see the image without its platform).
  const platform = [result.image.os, result.image.architecture, result.image.variant]
    .filter(Boolean)
    .join('/');
  await recordImage(deps.db, {
    registry: job.registry,
    repository: job.repository,
    digest,
    platform: platform || undefined,
  });
  const saved = await saveScan(deps.db, {
    digest,
    dbVersion: version,
    source: job.source,
    result,
    durationMs: performance.now() - t0,
    provenance,
  });
  await noteChanges(deps, digest, version, saved, result);
  deps.log?.('scanned', {
    image: `${job.registry}/${job.repository}@${digest}`,
    grade: result.summary.grade,
    findings: result.summary.total,
  });
  return 'done';
}

/** Why the manifest at `digest` is an artifact, not an image (undefined: an image, or unreadable). */
async function artifactOf(
  host: string,
  options: RegistryOptions,
  repository: string,
  digest: string,
): Promise<string | undefined> {
  const client = new RegistryClient(host, options);
  try {
    const m = await client.manifest(repository, digest);
    return artifactReason(m.body, m.mediaType);
  } catch {
    return undefined; // the scan reports what is wrong with it
  } finally {
    await client.close();
  }
}

async function matchJob(job: Extract<Job, { kind: 'match' }>, deps: WorkerDeps): Promise<'done' | 'skipped'> {
  const version = dbVersion(deps.dbPath);
  const stored = await loadInventoryWithProvenance(deps.db, job.digest);
  if (!stored) throw new CustomsError(`no stored inventory for ${job.digest}`);
  const { inventory: inv, provenance } = stored;
  // Queued because it needs matching: only a result of this inventory made with this version
  // makes it needless.
  if (await findScan(deps.db, job.digest, version, true, provenance.kind)) return 'skipped';
  const t0 = performance.now();
  // Uploads stored before the report schema and the match job agreed may lack lists it iterates.
  const { result } = await runScan({
    source: { metadata: normaliseImage(inv.image), inventory: inv },
    dbPath: deps.dbPath,
    ...(await contextOf(deps.db, job.digest)),
  });
  const saved = await saveScan(deps.db, {
    digest: job.digest,
    dbVersion: version,
    source: job.source,
    context: job.context,
    result,
    durationMs: performance.now() - t0,
    provenance,
  });
  await noteChanges(deps, job.digest, version, saved, result);
  return 'done';
}

export type RankContext = { env: Environment; exposure: Exposure };

/**
 * Where an image runs decides how its findings rank: the most exposed environment it runs in now.
 * An image that runs nowhere yet is ranked as if bound for internet-facing production (the gate it
 * still has to pass).
 */
export async function contextOf(db: Db, digest: string): Promise<RankContext> {
  return rankContext(await exposuresOf(db, digest));
}

/** The rank context of every digest running somewhere (one query, for a whole fleet). */
export async function runningContexts(db: Db): Promise<Map<string, RankContext>> {
  const rows = await allExposures(db);
  const by = new Map<string, Array<{ name: string; exposure: string }>>();
  for (const r of rows) by.set(r.digest, [...(by.get(r.digest) ?? []), r]);
  return new Map([...by].map(([d, envs]) => [d, rankContext(envs)]));
}

export function rankContext(envs: Array<{ name: string; exposure: string }>): RankContext {
  if (!envs.length) return { env: 'production', exposure: 'internet' };
  // Internet-facing first, then production, then staging (closer to production than dev).
  const rank = (e: { name: string; exposure: string }) =>
    (e.exposure === 'internet' ? 4 : 0) + (e.name === 'production' ? 2 : e.name === 'staging' ? 1 : 0);
  const top = [...envs].sort((a, b) => rank(b) - rank(a))[0];
  const env = (['production', 'staging', 'dev'].includes(top.name) ? top.name : 'production') as Environment;
  return { env, exposure: top.exposure === 'internet' ? 'internet' : 'internal' };
}

/** What a new scan changed against the image's previous one, kept with the database version. */
async function noteChanges(
  deps: WorkerDeps,
  digest: string,
  version: string,
  saved: { id: number; created: boolean; before?: ScanResult },
  result: ScanResult,
): Promise<void> {
  if (!saved.created) return;
  deps.afterResult?.(digest);
  const before = saved.before;
  const changes = findingChanges(before, result);
  const alerts = await recordOutcome(
    deps.db,
    [{ digest, version, changes, results: async () => ({ before, after: result }) }],
    {
      policy: deps.policy,
      verdicts: deps.policy ? (d) => verdictsFor(deps.db, deps.policy!).refresh(d) : undefined,
    },
  );
  if (changes.introduced.length || changes.fixed.length)
    deps.log?.('findings changed', {
      digest,
      dbVersion: version,
      introduced: changes.introduced.length,
      fixed: changes.fixed.length,
      alerts,
    });
}

const CHILD = fileURLToPath(new URL('./scan-child.js', import.meta.url));

function scanInChild(
  target: string,
  registry: RegistryOptions,
  deps: WorkerDeps,
  context: RankContext,
): Promise<ScanResult> {
  const deadline = deps.deadlineMs ?? 10 * 60_000;
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [], {
      execArgv: [`--max-old-space-size=${deps.memoryMb ?? 1536}`],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    try {
      // In the server, a scan yields the CPU to the API and the admission webhook on a busy host.
      if (deps.yieldCpu && child.pid) setPriority(child.pid, 10);
    } catch {
      /* not permitted here: same priority */
    }
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
    let answered = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new CustomsError(`scan exceeded the deadline of ${Math.round(deadline / 1000)} s`, target));
    }, deadline);
    child.on('message', (m: { ok: boolean; result?: ScanResult; error?: string }) => {
      answered = true;
      clearTimeout(timer);
      if (m.ok) resolve(m.result!);
      else reject(new CustomsError(m.error ?? 'scan failed'));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (answered) return;
      const oom = /heap out of memory|Allocation failed/i.test(stderr);
      reject(
        new CustomsError(
          oom
            ? `scan ran out of memory (cap ${deps.memoryMb ?? 1536} MiB)`
            : `scan process ended without an answer (${signal ?? `exit ${code}`})`,
          target,
        ),
      );
    });
    child.send({ target, opts: { dbPath: deps.dbPath, registry, ...context } });
  });
}
