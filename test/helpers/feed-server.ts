import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Route {
  body?: Buffer;
  status?: number;
  /** Send only this many bytes of the body, then end the connection (a truncated download). */
  cutAt?: number;
}

/**
 * A small feed server on 127.0.0.1 serving files at upstream paths, with ETag/If-None-Match and
 * Range support, so `db update` can be tested against real HTTP behaviour.
 */
export class FeedServer {
  readonly routes = new Map<string, Route>();
  readonly hits: Array<{ path: string; status: number }> = [];
  private server?: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const route = this.routes.get(path);
      const send = (status: number, headers: Record<string, string | number> = {}, body?: Buffer) => {
        this.hits.push({ path, status });
        res.writeHead(status, headers);
        res.end(body);
      };
      if (!route) return send(404);
      if (route.status && route.status !== 200) return send(route.status, { 'retry-after': '0' });
      const body = route.body ?? Buffer.alloc(0);
      const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
      if (req.headers['if-none-match'] === etag) return send(304, { etag });
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (range && req.headers['if-range'] === etag) {
        const from = Number(range[1]);
        return send(
          206,
          {
            etag,
            'content-length': body.length - from,
            'content-range': `bytes ${from}-${body.length - 1}/${body.length}`,
          },
          body.subarray(from),
        );
      }
      if (route.cutAt !== undefined) {
        this.hits.push({ path, status: 200 });
        res.writeHead(200, { etag, 'content-length': body.length });
        // Let the first part reach the client, then drop the connection.
        res.write(body.subarray(0, route.cutAt), () => setTimeout(() => res.destroy(), 50));
        return;
      }
      send(200, { etag, 'content-length': body.length, 'accept-ranges': 'bytes' }, body);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}
