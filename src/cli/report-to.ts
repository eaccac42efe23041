import { CustomsError } from '../errors.js';
import type { ScanResult } from '../model/scan.js';

export interface ReportFlags {
  reportTo?: string;
  token?: string;
}

/** The server URL and token of --report-to/--token (or CUSTOMS_SERVER/CUSTOMS_TOKEN), checked before a scan starts. */
export function reportTarget(f: ReportFlags): { url: URL; token: string } | undefined {
  return serverEndpoint(f.reportTo, f.token, '/api/v1/reports', '--report-to');
}

/**
 * An endpoint of a Customs server named by a flag (else CUSTOMS_SERVER) with its token (--token,
 * else CUSTOMS_TOKEN); undefined when no server is named.
 */
export function serverEndpoint(
  server: string | undefined,
  tokenFlag: string | undefined,
  path: string,
  flag: string,
): { url: URL; token: string } | undefined {
  server ??= process.env.CUSTOMS_SERVER;
  if (!server) return undefined;
  let url: URL;
  try {
    url = new URL(path, server.endsWith('/') ? server : `${server}/`);
  } catch {
    throw new CustomsError(`${flag}: not a URL: ${server}`);
  }
  if (!['http:', 'https:'].includes(url.protocol))
    throw new CustomsError(`${flag}: use an http(s) URL (got ${server})`);
  const token = tokenFlag ?? process.env.CUSTOMS_TOKEN;
  if (!token) throw new CustomsError(`${flag} needs --token or CUSTOMS_TOKEN`);
  return { url, token };
}

/**
 * One JSON call to a Customs server: the answer's body when its status is `ok`, else a one-line
 * error with the server's own message.
 */
export async function callServer<T>(
  t: { url: URL; token: string },
  body: unknown,
  ok: number,
  what: string,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(t.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new CustomsError(`${t.url.origin}: ${(err as Error).cause ?? (err as Error).message}`);
  }
  const text = await res.text();
  let parsed: { error?: { message: string } } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    /* not our JSON */
  }
  if (res.status !== ok)
    throw new CustomsError(
      `${t.url.origin} refused the ${what} (HTTP ${res.status}): ${parsed.error?.message ?? text.slice(0, 300)}`,
    );
  return parsed as T;
}

/** Where the pipeline runs, from the CI's own variables (GitHub Actions, GitLab CI, Azure Pipelines). */
function ciContext(): { commit?: string; pipelineUrl?: string } {
  const e = process.env;
  const commit = e.GITHUB_SHA ?? e.CI_COMMIT_SHA ?? e.BUILD_SOURCEVERSION;
  const pipelineUrl =
    e.GITHUB_RUN_ID && e.GITHUB_REPOSITORY
      ? `${e.GITHUB_SERVER_URL ?? 'https://github.com'}/${e.GITHUB_REPOSITORY}/actions/runs/${e.GITHUB_RUN_ID}`
      : (e.CI_PIPELINE_URL ??
        (e.SYSTEM_COLLECTIONURI && e.BUILD_BUILDID
          ? `${e.SYSTEM_COLLECTIONURI}${e.SYSTEM_TEAMPROJECT ?? ''}/_build/results?buildId=${e.BUILD_BUILDID}`
          : undefined));
  return { commit, pipelineUrl };
}

/**
 * Send the inventory and context to a Customs server, which re-matches it with its own database.
 * The local result and exit status are not changed by this; a failed upload is its own error.
 */
/** Where an image came from, as an upload says it: an archive or folder on the CI machine came from no registry. */
export function sourceOf(kind: ScanResult['image']['kind']): string {
  switch (kind) {
    case 'registry':
      return 'registry';
    case 'docker-daemon':
      return 'docker daemon';
    case 'rootfs':
      return 'local folder';
    case 'sbom':
      return 'sbom';
    default:
      return 'local archive';
  }
}

export async function uploadReport(
  target: { url: URL; token: string },
  result: ScanResult,
  ref: string,
): Promise<string> {
  const remote = result.image.kind === 'registry' ? ref.replace(/^(registry:|docker:\/\/)/, '') : undefined;
  const source = sourceOf(result.image.kind);
  // A local archive's tag (`app:1`) names no registry: sent as the image's own name, not as a
  // repository the server would read as docker.io/app.
  const local = source.startsWith('local');
  const body = {
    image: { ...result.image, source },
    os: result.os,
    packages: result.packages,
    context: {
      repository:
        process.env.CUSTOMS_REPORT_REPOSITORY ?? remote ?? (local ? undefined : result.image.repoTags[0]),
      environment: result.context.env,
      ...ciContext(),
    },
  };
  let res: Response;
  try {
    res = await fetch(target.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body, (k, v) => (v === undefined ? undefined : v)),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (err) {
    throw new CustomsError(
      `upload to ${target.url.origin} failed: ${(err as Error).cause ?? (err as Error).message}`,
    );
  }
  const text = await res.text();
  if (res.status !== 202) {
    let msg = text.slice(0, 300);
    try {
      msg = (JSON.parse(text) as { error: { message: string } }).error.message;
    } catch {
      /* not our error shape */
    }
    throw new CustomsError(`upload to ${target.url.origin} refused (HTTP ${res.status}): ${msg}`);
  }
  return (JSON.parse(text) as { url: string }).url;
}
