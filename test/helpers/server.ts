/* eslint-disable @typescript-eslint/no-explicit-any -- API answers are checked against the OpenAPI document, not typed here */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { CLI } from './paths.js';
import { customs, TEST_ENV } from './run.js';

/** `customs server` or `customs worker` as a user starts it: the built CLI in its own process. */
export class CustomsProcess {
  child: ChildProcess | undefined;
  log = '';
  constructor(
    readonly args: string[],
    readonly env: NodeJS.ProcessEnv = {},
  ) {}

  start(): void {
    this.child = spawn(process.execPath, [CLI, ...this.args], {
      env: { ...TEST_ENV, ...process.env, CUSTOMS_LOG_LEVEL: 'info', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d) => (this.log += d));
    this.child.stderr!.on('data', (d) => (this.log += d));
  }

  async waitForLog(re: RegExp, ms = 20_000): Promise<void> {
    await waitFor(
      () => re.test(this.log),
      ms,
      `log ${re} of customs ${this.args[0]}:\n${this.log.slice(-3000)}`,
    );
  }

  /** Stop as an orchestrator would (SIGTERM), or kill outright. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return c?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
    c.kill(signal);
    const code = await Promise.race([exited, sleep(40_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      c.kill('SIGKILL');
      return null;
    }
    return code;
  }
}

export class CustomsServer extends CustomsProcess {
  constructor(
    readonly port: number,
    args: string[],
    env: NodeJS.ProcessEnv = {},
  ) {
    super(['server', '--listen', `127.0.0.1:${port}`, ...args], env);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** `waitMs`: how long it may take to answer /healthz (a bench's server indexes what was seeded). */
  override async start(waitMs = 20_000): Promise<void> {
    super.start();
    await waitFor(
      async () => (await fetch(`${this.url}/healthz`).catch(() => undefined))?.status === 200,
      waitMs,
      `customs server on ${this.port}:\n${this.log}`,
    );
  }
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(150);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * A token made on the store directly, as an admin bootstraps one. Its audit entry is signed with the
 * server key, so `env` gives the server's CUSTOMS_SECRET_KEY when the server has one.
 */
export function makeToken(
  storeArgs: string[],
  role: string,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): string {
  const r = customs(['server', 'token', 'create', '--role', role, ...storeArgs, ...extra], { env });
  if (r.status !== 0) throw new Error(`token create failed: ${r.stderr}`);
  return r.stdout.trim();
}

interface OpenApiDoc {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
}

/**
 * A client of /api/v1 that checks every answer against the server's own OpenAPI document: the
 * status must be documented for the route and the body must match its schema.
 */
export class Api {
  private ajv = new Ajv2020({ strict: false, allErrors: true });
  private doc: OpenApiDoc | undefined;
  readonly seen = new Set<string>();

  constructor(
    readonly base: string,
    public token?: string,
  ) {}

  async load(): Promise<OpenApiDoc> {
    this.doc ??= (await (await fetch(`${this.base}/api/openapi.json`)).json()) as OpenApiDoc;
    return this.doc;
  }

  async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed = text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
    await this.check(method, path, res.status, parsed);
    return { status: res.status, body: parsed };
  }

  get = (path: string, headers?: Record<string, string>) => this.call('GET', path, undefined, headers);
  post = (path: string, body: unknown, headers?: Record<string, string>) =>
    this.call('POST', path, body, headers);
  put = (path: string, body: unknown) => this.call('PUT', path, body);
  del = (path: string) => this.call('DELETE', path);

  private async check(method: string, path: string, status: number, body: unknown): Promise<void> {
    const doc = await this.load();
    const p = path.split('?')[0];
    const template = Object.keys(doc.paths).find((t) =>
      new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(p),
    );
    if (!template) throw new Error(`${method} ${p} is not in the OpenAPI document`);
    this.seen.add(`${method} ${template}`);
    const op = doc.paths[template][method.toLowerCase()];
    if (!op) throw new Error(`${method} ${template} is not in the OpenAPI document`);
    const resp = op.responses[String(status)];
    if (!resp)
      throw new Error(
        `${method} ${template} answered ${status}, which the document does not list: ${JSON.stringify(body)}`,
      );
    const schema = resp.content?.['application/json']?.schema;
    if (!schema || status === 204) return;
    const validate = this.ajv.compile(schema);
    if (!validate(body))
      throw new Error(
        `${method} ${p} ${status}: body does not match the document: ${this.ajv.errorsText(validate.errors)}`,
      );
  }
}

/** An alert webhook on loopback that keeps every JSON body it is sent. */
export async function webhookReceiver(): Promise<{ bodies: any[]; close: () => void; url: string }> {
  const bodies: any[] = [];
  const hs = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      bodies.push(JSON.parse(raw));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hs.listen(0, '127.0.0.1', r));
  return { bodies, close: () => hs.close(), url: `http://127.0.0.1:${(hs.address() as any).port}` };
}
