import { execFileSync } from 'node:child_process';
import { createPrivateKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/**
 * A Docker token service (the Bearer flow of distribution's token auth spec) for tests: it checks
 * Basic credentials, grants the requested `repository:NAME:pull` scopes a user may have, and signs
 * RS256 JWTs with a certificate the registry trusts (`rootcertbundle`).
 */
export class TokenServer {
  private server: Server | undefined;
  port = 0;
  readonly requests: Array<{ user?: string; service?: string; scopes: string[] }> = [];
  readonly certFile: string;
  private readonly key: KeyObject;
  private readonly certDer: Buffer;

  constructor(
    dir: string,
    readonly service: string,
    readonly issuer: string,
    /** user → [password, repositories the user may pull] */
    private readonly users: Record<string, [string, string[]]>,
  ) {
    const keyFile = join(dir, 'token.key');
    this.certFile = join(dir, 'token.crt');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        this.certFile,
        '-days',
        '2',
        '-subj',
        '/CN=customs-test-token-issuer',
      ],
      { stdio: 'ignore' },
    );
    this.key = createPrivateKey(readFileSync(keyFile));
    this.certDer = new X509Certificate(readFileSync(this.certFile)).raw;
  }

  get realm(): string {
    return `http://127.0.0.1:${this.port}/token`;
  }

  private token(sub: string, access: Array<{ type: string; name: string; actions: string[] }>): string {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [this.certDer.toString('base64')] };
    const claims = {
      iss: this.issuer,
      sub,
      aud: this.service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: `${now}-${Math.random()}`,
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${b64url(sign('sha256', Buffer.from(input), this.key))}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const scopes = url.searchParams
        .getAll('scope')
        .flatMap((s) => s.split(' '))
        .filter(Boolean);
      let user: string | undefined;
      const auth = req.headers.authorization;
      if (auth?.startsWith('Basic ')) {
        const [u, ...p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
        if (!this.users[u] || this.users[u][0] !== p.join(':')) {
          this.requests.push({ user: u, service: url.searchParams.get('service') ?? undefined, scopes });
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
          return;
        }
        user = u;
      }
      this.requests.push({ user, service: url.searchParams.get('service') ?? undefined, scopes });
      const allowed = user ? this.users[user][1] : [];
      const access = scopes
        .map((s) => s.split(':'))
        .filter(([type, name]) => type === 'repository' && allowed.includes(name))
        .map(([type, name, actions]) => ({
          type,
          name,
          actions: actions.split(',').filter((a) => a === 'pull'),
        }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: this.token(user ?? '', access), expires_in: 300 }));
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }

  /** The registry's `auth:` section for this service. */
  authYaml(): string {
    return `  token:\n    realm: ${this.realm}\n    service: ${this.service}\n    issuer: ${this.issuer}\n    rootcertbundle: ${this.certFile}\n`;
  }
}
