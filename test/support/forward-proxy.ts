/**
 * A loopback HTTP proxy, as a self-hosted runner's network has: CONNECT tunnels (for https:// targets, and for any
 * target undici's ProxyAgent reaches) and absolute-form forward requests (for http:// targets). It counts, per target
 * host:port, the tunnels it opened and the requests it forwarded. It only ever connects to loopback targets.
 */
import { type IncomingMessage, type ServerResponse, createServer, request as httpRequest } from 'node:http';
import { type AddressInfo, type Socket, connect } from 'node:net';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)$/;

export class ForwardProxy {
  /** Tunnels opened, by target host:port. */
  readonly tunnels = new Map<string, number>();
  /** Requests forwarded, by target host:port. */
  readonly forwarded = new Map<string, number>();
  /** Every forward (non-CONNECT) request's line as received: `GET http://host:port/path` (absolute form), or not. */
  readonly requestLines: string[] = [];
  /** Proxy-Authorization headers received (CONNECT and forward requests alike). */
  readonly authorizations: string[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    readonly url: string,
  ) {}

  static async start(): Promise<ForwardProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const proxy = new ForwardProxy(server, `http://127.0.0.1:${port}`);
    server.on('connection', (s: Socket) => {
      proxy.sockets.add(s);
      s.on('close', () => proxy.sockets.delete(s));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => proxy.forward(req, res));
    server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => proxy.tunnel(req, client, head));
    return proxy;
  }

  /** Tunnels plus forwarded requests to `hostPort` (e.g. '127.0.0.1:4566'). */
  through(hostPort: string): number {
    return (this.tunnels.get(hostPort) ?? 0) + (this.forwarded.get(hostPort) ?? 0);
  }

  reset(): void {
    this.tunnels.clear();
    this.forwarded.clear();
    this.authorizations.length = 0;
    this.requestLines.length = 0;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private note(req: IncomingMessage): void {
    const auth = req.headers['proxy-authorization'];
    if (auth) this.authorizations.push(auth);
  }

  private tunnel(req: IncomingMessage, client: Socket, head: Buffer): void {
    this.note(req);
    const target = req.url ?? '';
    const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
    client.on('error', () => {});
    if (!match || !LOOPBACK.test(match[1])) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    this.tunnels.set(target, (this.tunnels.get(target) ?? 0) + 1);
    const upstream = connect(Number(match[2]), match[1].replace(/^\[|\]$/g, ''), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    this.note(req);
    this.requestLines.push(`${req.method} ${req.url}`);
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('not an absolute-form request');
      return;
    }
    if (target.protocol !== 'http:' || !LOOPBACK.test(target.hostname)) {
      res.writeHead(403).end('not a loopback http target');
      return;
    }
    this.forwarded.set(target.host, (this.forwarded.get(target.host) ?? 0) + 1);
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const out = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: target.pathname + target.search, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.headersSent ? res.destroy() : res.writeHead(502).end('upstream failed'));
    req.pipe(out);
  }
}
