import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * Debian's docker-registry (CNCF Distribution) on 127.0.0.1 with filesystem storage, started for
 * a test. `auth` is the YAML of its `auth:` section (htpasswd or token), indented by two spaces.
 */
export class Registry {
  private child: ChildProcess | undefined;
  /** What the registry printed. It goes to a file, not a pipe: a test blocked in spawnSync (skopeo)
   * cannot drain a pipe, and a registry whose pipe is full stops answering. */
  get log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  private get logFile(): string {
    return join(this.dir, 'registry.log');
  }
  constructor(
    readonly dir: string,
    readonly port: number,
    private readonly auth = '',
    /** More top-level YAML, e.g. a `notifications:` section. */
    private readonly extra = '',
  ) {}

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  get storage(): string {
    return join(this.dir, 'data');
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const config = join(this.dir, 'config.yml');
    writeFileSync(
      config,
      `version: 0.1
storage:
  filesystem:
    rootdirectory: ${this.storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${this.port}
log:
  level: warn
${this.auth ? `auth:\n${this.auth}` : ''}
${this.extra}
`,
    );
    const out = openSync(this.logFile, 'a');
    this.child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', out, out] });
    closeSync(out);
    for (let i = 0; i < 100; i++) {
      try {
        const r = await fetch(`http://${this.host}/v2/`);
        if (r.status === 200 || r.status === 401) return;
      } catch {
        /* not up yet */
      }
      if (this.child.exitCode !== null) break;
      await sleep(100);
    }
    throw new Error(`docker-registry did not start: ${this.log}`);
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await Promise.race([exited, sleep(3000)]);
    if (c.exitCode === null) c.kill('SIGKILL');
  }
}

/** skopeo copy into a registry on plain HTTP; extra args e.g. ['--format', 'oci']. */
export function skopeoCopy(from: string, to: string, extra: string[] = [], creds?: string): void {
  const args = [
    'copy',
    '--dest-tls-verify=false',
    ...(creds ? ['--dest-creds', creds] : []),
    ...extra,
    from,
    to,
  ];
  const r = spawnSync('skopeo', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`skopeo ${args.join(' ')} failed: ${r.stderr}`);
}

/** The `notifications:` section that points a registry at `customs server`'s Distribution receiver. */
export function notifyCustoms(serverPort: number, token: string, threshold = 5): string {
  return `notifications:
  endpoints:
    - name: customs
      url: http://127.0.0.1:${serverPort}/webhooks/distribution
      headers:
        Authorization: [Bearer ${token}]
      timeout: 2s
      threshold: ${threshold}
      backoff: 1s
`;
}
