import { RegistryClient } from '../image/registry/client.js';
import { parseReference } from '../image/registry/reference.js';
import type { JobQueue } from '../model/jobs.js';
import { requestScan } from '../services/scans.js';
import type { Policy } from '../policy/policy.js';
import type { Db } from '../store/db.js';
import { recordIfChanged } from '../store/deployments.js';
import { recordImage } from '../store/images.js';
import { findRegistry, registryOptions } from '../store/registries.js';
import type { SecretBox } from '../store/secret-box.js';
import type { Decision } from '../policy/judge.js';
import { Verdicts } from './verdicts.js';
import { checkTrust } from './trust.js';
import { allGates, environmentOfNamespace, type GateSettings } from './settings.js';

/**
 * The Kubernetes admission webhook (`admission.k8s.io/v1` AdmissionReview): every image of a Pod or
 * of a controller's pod template is resolved to a digest (tags through the registry, cached), the
 * namespace is mapped to an environment, and the decision is read from stored state (never a scan
 * on the request path). An image the server has not scanned is queued, then admitted or denied as
 * its environment says. Admitted images are recorded as deployments.
 */

export interface AdmissionOptions {
  db: Db;
  box: SecretBox;
  queue: JobQueue;
  policy: Policy;
  /** The database version scan jobs are keyed by. */
  dbVersion: () => string;
  /** How long a tag's digest and a decision are reused (ms). */
  tagTtlMs?: number;
  decisionTtlMs?: number;
  /** Tell the other replicas that the gate changed (server/gate-events.ts). */
  broadcast?: () => void;
}

export interface AdmissionReview {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; reason?: string; message: string };
    warnings?: string[];
    /** The mutating webhook's rewrite of tags to digests: base64 of a JSON Patch (RFC 6902). */
    patchType?: 'JSONPatch';
    patch?: string;
  };
}

interface Container {
  name?: string;
  image?: string;
}
interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
}
interface K8sObject {
  metadata?: { name?: string; generateName?: string; labels?: Record<string, string> };
  spec?: {
    template?: { spec?: PodSpec };
    jobTemplate?: { spec?: { template?: { spec?: PodSpec } } };
  } & PodSpec;
}

/** The pod spec of an object the webhook is registered for, or undefined for other kinds. */
export function podSpecOf(kind: string, o: K8sObject): PodSpec | undefined {
  switch (kind) {
    case 'Pod':
      return o.spec;
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'ReplicationController':
    case 'Job':
      return o.spec?.template?.spec;
    case 'CronJob':
      return o.spec?.jobTemplate?.spec?.template?.spec;
    default:
      return undefined;
  }
}

/** Where the pod spec of `podSpecOf` sits in the object, as a JSON Pointer. */
function podSpecPointer(kind: string): string {
  if (kind === 'Pod') return '/spec';
  if (kind === 'CronJob') return '/spec/jobTemplate/spec/template/spec';
  return '/spec/template/spec';
}

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/**
 * A JSON Patch replacing each container image found in `pinned` (a reference by tag → the
 * `repository@digest` the decision was made on), at its place in the object.
 */
export function digestPatch(
  kind: string,
  spec: PodSpec,
  pinned: Map<string, string>,
): Array<{ op: 'replace'; path: string; value: string }> {
  const base = podSpecPointer(kind);
  const ops: Array<{ op: 'replace'; path: string; value: string }> = [];
  for (const list of CONTAINER_LISTS)
    (spec[list] ?? []).forEach((c, i) => {
      const to = typeof c?.image === 'string' ? pinned.get(c.image) : undefined;
      if (to) ops.push({ op: 'replace', path: `${base}/${list}/${i}/image`, value: to });
    });
  return ops;
}

/** Every container image of a pod spec, init and ephemeral containers included, once each. */
export function imagesOf(spec: PodSpec): string[] {
  const all = [
    ...(spec.initContainers ?? []),
    ...(spec.containers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ];
  return [...new Set(all.map((c) => c.image).filter((i): i is string => typeof i === 'string' && !!i))];
}

/** What a workload is called, for its deployment record. */
function serviceName(o: K8sObject): string {
  const m = o.metadata ?? {};
  return (
    m.labels?.['app.kubernetes.io/name'] ??
    m.labels?.app ??
    m.name ??
    (m.generateName ?? '').replace(/-[a-z0-9]*-?$/, '')
  );
}

const MAX_IMAGES = 64;

class TtlCache<V> {
  private m = new Map<string, { v: V; until: number }>();
  constructor(
    private ttl: number,
    private max = 10_000,
    private staleFor = 0,
  ) {}
  get(k: string): V | undefined {
    const e = this.peek(k);
    return e?.fresh ? e.v : undefined;
  }
  /**
   * An entry and whether it is still fresh. A stale one is kept for one more `ttl` (`staleFor`):
   * long enough to answer from while a fresh value is read in the background, never longer.
   */
  peek(k: string): { v: V; fresh: boolean } | undefined {
    const e = this.m.get(k);
    if (!e) return undefined;
    const now = Date.now();
    if (e.until + this.staleFor < now) {
      this.m.delete(k);
      return undefined;
    }
    return { v: e.v, fresh: e.until >= now };
  }
  set(k: string, v: V): void {
    // Oldest first out: a Map keeps insertion order.
    if (this.m.size >= this.max) this.m.delete(this.m.keys().next().value as string);
    this.m.set(k, { v, until: Date.now() + this.ttl });
  }
  clear(): void {
    this.m.clear();
  }
}

export class Admission {
  private tags: TtlCache<string>;
  private decisions: TtlCache<Decision>;
  private gates: TtlCache<Map<string, GateSettings>>;
  /** (environment, workload) → the digest last recorded, so repeated pods write nothing. */
  private recorded = new TtlCache<string>(3_600_000);
  /**
   * Images this replica asked to scan in the last minute: the pods of one image ask again and again,
   * and each ask is a write. On SQLite a write from the event loop waits behind a report thread's
   * writes, so a review that writes nothing new must not write at all.
   */
  private queued = new TtlCache<true>(60_000);
  /** The stored verdicts (gate/verdicts.ts): what this cache falls back on before judging. */
  readonly verdicts: Verdicts;

  constructor(private readonly o: AdmissionOptions) {
    this.tags = new TtlCache(o.tagTtlMs ?? 60_000);
    // Another process (a worker's rescan, a second server) may change state: cached decisions are
    // short-lived; changes through this server clear them at once (invalidate()).
    // A decision or the gate settings past their time are still answered from for one more period
    // while a fresh one is read in the background: a slow store (a 200k-package report being
    // written, a checkpoint) must not hold a pod's admission. An explicit change clears them.
    const ttl = o.decisionTtlMs ?? 5_000;
    this.decisions = new TtlCache(ttl, 10_000, ttl);
    this.gates = new TtlCache(ttl, 1, ttl);
    this.verdicts = new Verdicts(o.db, o.policy);
  }

  /** The gate changed here: forget this replica's cached decisions and tell the others. */
  changed(): void {
    this.invalidate();
    this.o.broadcast?.();
  }

  /**
   * Forget cached decisions (after an approval, exception or setting changed). The stored verdicts
   * need nothing here: the change removed those it touches in its own transaction.
   */
  invalidate(): void {
    this.epoch++;
    this.decisions.clear();
    this.gates.clear();
    // A read in flight began before the change: the next review must not join it.
    this.reading.clear();
  }

  /** Reads in flight, by cache key: concurrent reviews of one image share one read. */
  private reading = new Map<string, Promise<unknown>>();

  /**
   * A cached value, fresh; or a stale one while `read` refreshes it in the background; or, with
   * nothing cached, `read`'s answer. A change through any replica clears the cache (invalidate()),
   * so a stale answer never outlives a change made here — only one another process made within the
   * last two periods (a scan landing from a worker).
   */
  private async cached<V>(cache: TtlCache<V>, key: string, read: () => Promise<V>): Promise<V> {
    const hit = cache.peek(key);
    if (hit?.fresh) return hit.v;
    let p = this.reading.get(key) as Promise<V> | undefined;
    if (!p) {
      const epoch = this.epoch;
      p = read().then((v) => {
        // A change cleared the cache while this read ran: what it read may predate the change.
        if (epoch === this.epoch) cache.set(key, v);
        return v;
      });
      this.reading.set(key, p);
      // Only its own entry: after invalidate() a newer read of the key may be in flight.
      const done = () => this.reading.get(key) === p && this.reading.delete(key);
      void p.then(done, done);
    }
    if (hit) {
      p.catch(() => {
        /* kept stale: the next review reads again */
      });
      return hit.v;
    }
    return p;
  }

  /** Bumped by invalidate(): a read begun before a change does not fill the cache after it. */
  private epoch = 0;

  private allGates(): Promise<Map<string, GateSettings>> {
    return this.cached(this.gates, 'all', () => allGates(this.o.db));
  }

  async decision(digest: string, environment: string, repository?: string): Promise<Decision> {
    // The repository is part of the key: its exceptions feed the decision, so one repository's
    // digest must not borrow another's cached verdict (repoA@<digest of B>).
    const key = `${environment}|${repository ?? ''}|${digest}`;
    return this.cached(this.decisions, key, async () => {
      const d = await this.verdicts.decision(digest, environment, repository);
      if (d.trust && !d.trust.checked) this.checkLater(digest, environment);
      return d;
    });
  }

  private checking = new Set<string>();

  /**
   * A signature never checked is checked in the background (a registry round trip does not belong
   * on the request path); the next request sees the verdict.
   */
  private checkLater(digest: string, environment: string): void {
    const key = `${environment}|${digest}`;
    if (this.checking.has(key)) return;
    this.checking.add(key);
    void (async () => {
      try {
        const gate = (await this.allGates()).get(environment);
        if (gate) await checkTrust(this.o.db, this.o.box, digest, gate.trust);
      } catch {
        /* kept unchecked: the next request tries again */
      } finally {
        this.checking.delete(key);
        this.invalidate();
      }
    })();
  }

  /** A tag's digest through the configured registry (cached), or why it cannot be resolved. */
  private async resolve(
    domain: string,
    repository: string,
    tag: string,
  ): Promise<string | { problem: string }> {
    const key = `${domain}/${repository}:${tag}`;
    const hit = this.tags.get(key);
    if (hit) return hit;
    const opts = await registryOptions(this.o.db, this.o.box, domain);
    if (!opts)
      return {
        problem: `registry ${domain} is not configured on this server, so its tag cannot be resolved`,
      };
    const client = new RegistryClient(domain, { ...opts, retries: 0, timeoutMs: 5_000 });
    try {
      const { digest } = await client.manifest(repository, tag);
      this.tags.set(key, digest);
      return digest;
    } catch (err) {
      return { problem: `cannot resolve ${key}: ${(err as Error).message}` };
    } finally {
      await client.close();
    }
  }

  /**
   * Answer an AdmissionReview. With `mutate` (the mutating webhook), an admitted object also gets a
   * JSON Patch pinning every image it names by tag to the digest the decision was made on, so the
   * kubelet pulls exactly what was judged (as Kyverno's mutateDigest).
   */
  /**
   * `record`: whether this caller's reviews may write (record deployments, queue scans), for the
   * environment the namespace maps to — a token limited to some environments writes only there.
   */
  async review(
    body: unknown,
    record: boolean | ((environment: string) => boolean),
    mutate = false,
  ): Promise<AdmissionReview> {
    const req = (body as { request?: Record<string, unknown> })?.request;
    const uid = typeof req?.uid === 'string' ? req.uid : '';
    const answer = (
      allowed: boolean,
      message?: string,
      warnings: string[] = [],
      patch: object[] = [],
    ): AdmissionReview => ({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid,
        allowed,
        ...(allowed ? {} : { status: { code: 403, reason: 'Forbidden', message: message ?? 'denied' } }),
        ...(warnings.length ? { warnings } : {}),
        ...(allowed && patch.length
          ? { patchType: 'JSONPatch' as const, patch: Buffer.from(JSON.stringify(patch)).toString('base64') }
          : {}),
      },
    });
    if (!req || !uid) return answer(false, 'customs: not an AdmissionReview request');
    const op = req.operation;
    if (op !== 'CREATE' && op !== 'UPDATE') return answer(true);
    const kind = (req.kind as { kind?: string } | undefined)?.kind ?? '';
    const object = (req.object ?? {}) as K8sObject;
    const spec = podSpecOf(kind, object);
    if (!spec) return answer(true, undefined, [`customs: ${kind || 'this kind'} is not checked`]);
    const namespace = typeof req.namespace === 'string' ? req.namespace : '';
    const gates = await this.allGates();
    const environment = environmentOfNamespace(gates, namespace);
    if (!environment)
      return answer(true, undefined, [`customs: namespace ${namespace} maps to no environment; not checked`]);
    const dryRun = req.dryRun === true;
    const writes = (typeof record === 'function' ? record(environment) : record) && !dryRun;
    const images = imagesOf(spec);
    // A crafted object listing thousands of images must not turn into thousands of registry calls.
    if (images.length > MAX_IMAGES)
      return answer(
        false,
        `customs denied: ${images.length} images in one object; at most ${MAX_IMAGES} are checked`,
      );
    const denied: string[] = [];
    const admitted: Array<{ domain: string; repository: string; digest: string }> = [];
    const warnings: string[] = [];
    /** Images named by tag → `repository@digest` of what was decided on. */
    const pinned = new Map<string, string>();
    const requireDigest = gates.get(environment)?.requireDigest ?? false;
    for (const image of images) {
      let ref;
      try {
        ref = parseReference(image);
      } catch (err) {
        denied.push(`${image}: ${(err as Error).message}`);
        continue;
      }
      let digest = ref.digest;
      if (!digest && requireDigest) {
        denied.push(
          `${image}: ${environment} admits images by digest only (…@sha256:…): a tag can point elsewhere after the decision`,
        );
        continue;
      }
      if (!digest) {
        const r = await this.resolve(ref.domain, ref.repository, ref.tag ?? 'latest');
        if (typeof r !== 'string') {
          denied.push(`${image}: ${r.problem}`);
          continue;
        }
        digest = r;
      }
      const d = await this.decision(digest, environment, `${ref.domain}/${ref.repository}`);
      // Not scanned, or known only from a report: the server scans it itself.
      if ((d.status === 'not-scanned' || d.provenance?.kind !== 'server-scan') && writes)
        await this.queueScan(ref.domain, ref.repository, digest);
      if (d.allowed) {
        admitted.push({ domain: ref.domain, repository: ref.repository, digest });
        if (!ref.digest) pinned.set(image, `${ref.domain}/${ref.repository}@${digest}`);
        if (d.status === 'not-scanned') warnings.push(`customs: ${image} is not scanned yet; queued`);
      } else denied.push(`${image} (${digest.slice(0, 19)}…) in ${environment}: ${d.reasons.join('; ')}`);
    }
    if (denied.length) return answer(false, `customs denied: ${denied.join(' | ')}`, warnings);
    if (writes)
      for (const a of admitted) await this.recordOnce(environment, namespace, serviceName(object), a);
    return answer(true, undefined, warnings, mutate ? digestPatch(kind, spec, pinned) : []);
  }

  private async queueScan(domain: string, repository: string, digest: string): Promise<void> {
    const key = `${domain}/${repository}@${digest}|${this.o.dbVersion()}`;
    if (this.queued.get(key)) return;
    if (!(await findRegistry(this.o.db, domain))) return;
    await recordImage(this.o.db, { registry: domain, repository, digest });
    await requestScan(
      this.o,
      { registry: domain, repository, digest, source: 'admission' },
      this.o.dbVersion(),
    );
    this.queued.set(key, true);
  }

  private async recordOnce(
    environment: string,
    namespace: string,
    service: string,
    a: { domain: string; repository: string; digest: string },
  ): Promise<void> {
    const key = `${environment}|${a.domain}/${a.repository}|${namespace}|${service}`;
    if (this.recorded.get(key) === a.digest) return;
    await recordIfChanged(this.o.db, {
      environment,
      registry: a.domain,
      repository: a.repository,
      digest: a.digest,
      namespace,
      service,
      source: 'admission',
    });
    this.recorded.set(key, a.digest);
  }
}
