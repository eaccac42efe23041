import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { CustomsError } from '../errors.js';
import { parseReference } from '../image/registry/reference.js';
import { allGates, environmentOfNamespace } from '../gate/settings.js';
import { requestScan } from '../services/scans.js';
import { endUnseen, recordIfChanged } from '../store/deployments.js';
import { currentDbVersion, type Services } from '../services/ingest.js';

/**
 * What runs where, read from a cluster: every `interval` the Pods of all namespaces are listed
 * through the Kubernetes API and each running container's `imageID` (the digest the node pulled) is
 * recorded as a deployment of the environment its namespace maps to (the same mapping as the
 * admission webhook: a namespace named like an environment, or listed in its gate's `namespaces`).
 * Only changes are recorded; images the server has not scanned are queued when their registry is
 * configured. Written on undici and yaml rather than a Kubernetes client library: one paginated
 * GET is all it needs, and the official client pulls in far more than that.
 */

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** A page of Pods and a whole listing: bounds against a hostile or broken API server. */
const PAGE = 500;
const MAX_BODY = 64 * 1024 * 1024;
const MAX_PAGES = 200;

export interface KubeAccess {
  server: string;
  /** Read anew for each listing: service-account tokens are rotated. */
  token?: () => string;
  ca?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  /** Where it came from, for messages. */
  source: string;
}

type KubeConfigFile = {
  'current-context'?: string;
  contexts?: Array<{ name: string; context: { cluster: string; user: string } }>;
  clusters?: Array<{ name: string; cluster: Record<string, unknown> }>;
  users?: Array<{ name: string; user: Record<string, unknown> }>;
};

/**
 * `in-cluster` (the Pod's service account), or a kubeconfig file (its current context, or
 * `file#context`). Tokens, client certificates and CAs as data or as files; exec and auth-provider
 * plugins are not run (they would run programs named by the file): use a token instead.
 */
export function kubeAccess(spec: string): KubeAccess {
  if (spec === 'in-cluster') {
    const host = process.env.KUBERNETES_SERVICE_HOST;
    const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
    if (!host)
      throw new CustomsError(
        '--kube-inventory in-cluster: KUBERNETES_SERVICE_HOST is not set (not in a Pod?)',
      );
    return {
      server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
      token: () => readFileSync(`${SA_DIR}/token`, 'utf8').trim(),
      ca: readFileSync(`${SA_DIR}/ca.crt`, 'utf8'),
      source: 'the service account',
    };
  }
  const [file, wanted] = spec.split('#');
  let cfg: KubeConfigFile;
  try {
    cfg = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as KubeConfigFile;
  } catch (err) {
    throw new CustomsError(`cannot read the kubeconfig: ${(err as Error).message}`, file);
  }
  const bad = (why: string) => new CustomsError(`kubeconfig: ${why}`, file);
  const ctxName = wanted ?? cfg['current-context'];
  const ctx = cfg.contexts?.find((c) => c.name === ctxName)?.context;
  if (!ctx) throw bad(`no context ${ctxName ?? '(no current-context)'}`);
  const cluster = cfg.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  const user = cfg.users?.find((u) => u.name === ctx.user)?.user ?? {};
  if (!cluster || typeof cluster.server !== 'string') throw bad(`cluster ${ctx.cluster} has no server`);
  if (user.exec || user['auth-provider'])
    throw bad(`user ${ctx.user} signs in through a plugin, which Customs does not run: give it a token`);
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const pem = (data: unknown, path: unknown) =>
    str(data)
      ? Buffer.from(str(data)!, 'base64').toString('utf8')
      : str(path)
        ? readFileSync(str(path)!, 'utf8')
        : undefined;
  const token = str(user.token);
  const tokenFile = str(user.tokenFile);
  return {
    server: cluster.server.replace(/\/+$/, ''),
    token: token ? () => token : tokenFile ? () => readFileSync(tokenFile, 'utf8').trim() : undefined,
    ca: pem(cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: pem(user['client-certificate-data'], user['client-certificate']),
    key: pem(user['client-key-data'], user['client-key']),
    insecure: cluster['insecure-skip-tls-verify'] === true,
    source: `${file} (context ${ctxName})`,
  };
}

interface Pod {
  metadata?: {
    name?: string;
    namespace?: string;
    generateName?: string;
    labels?: Record<string, string>;
    ownerReferences?: Array<{ kind?: string; name?: string; controller?: boolean }>;
  };
  status?: {
    phase?: string;
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}
interface ContainerStatus {
  name?: string;
  image?: string;
  imageID?: string;
}

/** Every Pod of every namespace, page by page. */
export async function listPods(access: KubeAccess): Promise<Pod[]> {
  const agent = new Agent({
    connect: { ca: access.ca, cert: access.cert, key: access.key, rejectUnauthorized: !access.insecure },
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const pods: Pod[] = [];
  try {
    let cont: string | undefined;
    for (let page = 0; ; page++) {
      if (page >= MAX_PAGES) throw new CustomsError(`more than ${MAX_PAGES * PAGE} Pods: listing stopped`);
      const url = new URL(`${access.server}/api/v1/pods`);
      url.searchParams.set('limit', String(PAGE));
      if (cont) url.searchParams.set('continue', cont);
      const token = access.token?.();
      const r = await request(url, {
        dispatcher: agent,
        headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of r.body) {
        size += (c as Buffer).length;
        if (size > MAX_BODY) throw new CustomsError(`a page of Pods larger than ${MAX_BODY} bytes`);
        chunks.push(c as Buffer);
      }
      const text = Buffer.concat(chunks).toString('utf8');
      if (r.statusCode !== 200) {
        let message = text.slice(0, 200);
        try {
          message = (JSON.parse(text) as { message?: string }).message ?? message;
        } catch {
          /* not a Status object */
        }
        throw new CustomsError(`the Kubernetes API answered ${r.statusCode}: ${message}`, access.server);
      }
      let list: { kind?: string; items?: Pod[]; metadata?: { continue?: string } };
      try {
        list = JSON.parse(text) as typeof list;
      } catch {
        throw new CustomsError('the Kubernetes API answered something other than JSON', access.server);
      }
      if (list.kind !== 'PodList' || !Array.isArray(list.items))
        throw new CustomsError(`expected a PodList, got ${String(list.kind)}`, access.server);
      pods.push(...list.items);
      cont = list.metadata?.continue || undefined;
      if (!cont) return pods;
    }
  } catch (err) {
    if (err instanceof CustomsError) throw err;
    throw new CustomsError(`cannot list Pods: ${(err as Error).message}`, access.server);
  } finally {
    await agent.close();
  }
}

/** The workload a Pod belongs to: its app label, else its controller (a ReplicaSet less its template hash). */
export function workloadOf(pod: Pod): string {
  const m = pod.metadata ?? {};
  const label = m.labels?.['app.kubernetes.io/name'] ?? m.labels?.app;
  if (label) return label;
  const owner = m.ownerReferences?.find((o) => o.controller) ?? m.ownerReferences?.[0];
  if (owner?.name) {
    const hash = m.labels?.['pod-template-hash'];
    return owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)
      ? owner.name.slice(0, -hash.length - 1)
      : owner.name;
  }
  return m.name ?? '';
}

/**
 * The digest reference a container status names: `imageID` is `docker-pullable://repo@sha256:…`
 * (dockershim), `repo@sha256:…` (containerd, CRI-O), or a bare local image id when the node knows
 * no registry digest (nothing to record then).
 */
export function pulledImage(
  c: ContainerStatus,
): { registry: string; repository: string; digest: string } | undefined {
  const id = (c.imageID ?? '').replace(/^docker-pullable:\/\//, '');
  if (!/@sha256:[a-f0-9]{64}$/.test(id)) return undefined;
  try {
    const ref = parseReference(id);
    return ref.digest ? { registry: ref.domain, repository: ref.repository, digest: ref.digest } : undefined;
  } catch {
    return undefined;
  }
}

export interface InventoryOutcome {
  pods: number;
  containers: number;
  /** Deployments recorded because a workload now runs another digest (or is new). */
  recorded: number;
  /** Images queued for a scan (unknown to the server, registry configured). */
  queued: number;
  /** Namespaces that map to no environment, with their running containers. */
  unmapped: Record<string, number>;
  /** Deployments ended: their workload no longer runs in the cluster. */
  ended: number;
}

/** One pass: list, map, record what changed. */
export async function takeInventory(s: Services, access: KubeAccess): Promise<InventoryOutcome> {
  const pods = await listPods(access);
  const gates = await allGates(s.db);
  const out: InventoryOutcome = {
    pods: pods.length,
    containers: 0,
    recorded: 0,
    queued: 0,
    unmapped: {},
    ended: 0,
  };
  const seen = new Set<string>();
  const running = new Set<string>();
  const version = currentDbVersion(s);
  for (const pod of pods) {
    if (pod.status?.phase !== 'Running') continue;
    const namespace = pod.metadata?.namespace ?? '';
    const statuses = [...(pod.status.containerStatuses ?? []), ...(pod.status.initContainerStatuses ?? [])];
    const environment = environmentOfNamespace(gates, namespace);
    if (!environment) {
      out.unmapped[namespace] = (out.unmapped[namespace] ?? 0) + statuses.length;
      continue;
    }
    const service = workloadOf(pod);
    for (const c of statuses) {
      const image = pulledImage(c);
      if (!image) continue;
      out.containers++;
      // Replicas of one workload name the same image: one record each.
      const workload = `${environment}|${image.registry}/${image.repository}|${namespace}|${service}`;
      running.add(workload);
      const key = `${workload}|${image.digest}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (await recordIfChanged(s.db, { environment, ...image, namespace, service, source: 'kubernetes' }))
        out.recorded++;
      const asked = await requestScan(s, { ...image, source: 'kubernetes' }, version);
      if (asked.scan || asked.match) out.queued++;
    }
  }
  // What the cluster no longer runs has ended (a workload scaled to zero or deleted): it drops out
  // of its environment, and no longer alerts or ranks as running there.
  out.ended = await endUnseen(
    s.db,
    running,
    (namespace, environment) => environmentOfNamespace(gates, namespace) === environment,
  );
  return out;
}

/** Take the inventory every `intervalSeconds`, the first pass at once; one pass at a time. */
export function startKubeInventory(
  s: Services,
  access: KubeAccess,
  intervalSeconds: number,
  log: (msg: string, fields?: object) => void,
): () => void {
  let running = false;
  const pass = async () => {
    if (running) return;
    running = true;
    try {
      const o = await takeInventory(s, access);
      log('cluster inventory taken', { source: access.source, ...o });
    } catch (err) {
      log('cluster inventory failed', {
        source: access.source,
        reason: err instanceof CustomsError ? err.line() : (err as Error).message,
      });
    } finally {
      running = false;
    }
  };
  void pass();
  const timer = setInterval(() => void pass(), intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
