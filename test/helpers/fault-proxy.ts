import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** What the proxy does to one request; `pass` forwards it untouched. */
export type Fault =
  | 'pass'
  | { status: number; headers?: Record<string, string>; body?: string }
  /** Forward, but send only the first `bytes` of the body, then cut the connection. */
  | { cutAfter: number }
  /** Forward with byte 4 of the body changed. */
  | 'corrupt'
  /** Never answer. */
  | 'hang';

/**
 * An HTTP proxy in front of a real registry that injects faults: a test decides per request
 * (method, path, Range header) what happens, and every request is recorded.
 */
export class FaultProxy {
  private server: Server | undefined;
  private readonly hanging: ServerResponse[] = [];
  port = 0;
  readonly seen: Array<{ method: string; path: string; range?: string; authorization?: string }> = [];
  decide: (req: { method: string; path: string; range?: string }, n: number) => Fault = () => 'pass';

  constructor(private readonly upstream: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const info = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      range: req.headers.range,
      authorization: req.headers.authorization,
    };
    this.seen.push(info);
    const fault = this.decide(info, this.seen.length);
    if (fault === 'hang') {
      this.hanging.push(res);
      return;
    }
    if (typeof fault === 'object' && 'status' in fault) {
      res.writeHead(fault.status, fault.headers).end(fault.body);
      return;
    }
    const up = request(
      {
        host: this.upstream.host,
        port: this.upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: `${this.upstream.host}:${this.upstream.port}` },
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        let sent = 0;
        let flipped = false;
        upRes.on('data', (chunk: Buffer) => {
          if (typeof fault === 'object' && 'cutAfter' in fault) {
            const room = fault.cutAfter - sent;
            if (room <= 0) return;
            sent += Math.min(room, chunk.length);
            const last = sent >= fault.cutAfter;
            // Let the bytes leave, then break the connection mid-body.
            res.write(chunk.subarray(0, room), () => last && setTimeout(() => res.socket?.destroy(), 50));
            if (last) upRes.destroy();
            return;
          }
          // Byte 4 of a gzip stream is in its MTIME field: the layer still decompresses, only
          // its digest is wrong, which is what a tampering mirror would produce.
          if (fault === 'corrupt' && !flipped && chunk.length > 8) {
            chunk = Buffer.from(chunk);
            chunk[4] ^= 0xff;
            flipped = true;
          }
          res.write(chunk);
        });
        upRes.on('end', () => res.end());
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  }

  async stop(): Promise<void> {
    for (const r of this.hanging) r.socket?.destroy();
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}
