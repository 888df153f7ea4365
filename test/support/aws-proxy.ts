/**
 * A recording proxy in front of moto: adds latency, injects faults per IAM/STS action (5xx, Throttling, AccessDenied,
 * hang), and can simulate IAM's propagation delay (a new key answers InvalidClientTokenId for a while). Point
 * AWS_ENDPOINT_URL (or a client's endpoint) at `url`.
 */
import { type IncomingMessage, type ServerResponse, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface AwsRequest {
  action: string;
  accessKeyId: string;
  index: number;
  status: number;
  startedAt: number;
  finishedAt: number;
}

export interface AwsFault {
  /** IAM/STS action name, e.g. 'CreateAccessKey', or a RegExp over it. Default: any. */
  action?: string | RegExp;
  match?: (req: { action: string; accessKeyId: string; index: number }) => boolean;
  skip?: number;
  times?: number;
  /** 'error' answers with status/code; 'hang' never answers. */
  kind?: 'error' | 'hang';
  status?: number;
  code?: string;
  message?: string;
  /** Forward the request to moto first (so it takes effect), then answer with the fault. */
  afterHandling?: boolean;
}

export const throttling = (f: AwsFault = {}): AwsFault => ({ status: 400, code: 'Throttling', message: 'Rate exceeded', ...f });
export const serviceUnavailable = (f: AwsFault = {}): AwsFault => ({ status: 503, code: 'ServiceUnavailable', message: 'Service is unavailable', ...f });
export const accessDenied = (f: AwsFault = {}): AwsFault => ({
  status: 403,
  code: 'AccessDenied',
  message: `User: arn:aws:iam::123456789012:user/caller is not authorized to perform: iam:${typeof f.action === 'string' ? f.action : 'Action'}`,
  ...f,
});
export const awsHang = (f: AwsFault = {}): AwsFault => ({ kind: 'hang', ...f });

function errorXml(code: string, message: string): string {
  return (
    `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>` +
    `<Code>${code}</Code><Message>${message}</Message></Error><RequestId>proxy-fault</RequestId></ErrorResponse>`
  );
}

export class AwsProxy {
  readonly requests: AwsRequest[] = [];
  latencyMs: number;
  /** New keys fail STS with InvalidClientTokenId until this long after CreateAccessKey answered. */
  propagationDelayMs = 0;
  /** When each key created through the proxy was created, and when it first authenticated at STS. */
  readonly created = new Map<string, number>();
  readonly firstWorked = new Map<string, number>();
  private faults: { fault: AwsFault; seen: number; used: number }[] = [];
  private listeners: ((req: { action: string; accessKeyId: string; index: number }) => void | Promise<void>)[] = [];
  private handledListeners: ((req: { action: string; accessKeyId: string; index: number; status: number }) => void | Promise<void>)[] = [];
  private sockets = new Set<Socket>();
  /**
   * Rewrites moto's answer text before it goes back (e.g. test/support/aged-iam.ts: key ages, last uses, the
   * credential report's root row); `params` are the request's form parameters.
   */
  rewrite?: (req: { action: string; params: URLSearchParams }, text: string) => string;

  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    private readonly target: URL,
    latencyMs: number,
    readonly url: string,
  ) {
    this.latencyMs = latencyMs;
  }

  static async start(target: string, opts: { latencyMs?: number } = {}): Promise<AwsProxy> {
    const holder: { proxy?: AwsProxy } = {};
    const server = createServer((req, res) => void holder.proxy?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const proxy = new AwsProxy(server, new URL(target), opts.latencyMs ?? 0, `http://127.0.0.1:${port}`);
    holder.proxy = proxy;
    server.on('connection', (s) => {
      proxy.sockets.add(s);
      s.on('close', () => proxy.sockets.delete(s));
    });
    server.unref();
    return proxy;
  }

  addFault(fault: AwsFault): () => void {
    const entry = { fault, seen: 0, used: 0 };
    this.faults.push(entry);
    return () => {
      this.faults = this.faults.filter((f) => f !== entry);
    };
  }

  clearFaults(): void {
    this.faults = [];
  }

  onRequest(cb: (req: { action: string; accessKeyId: string; index: number }) => void | Promise<void>): () => void {
    this.listeners.push(cb);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== cb);
    };
  }

  /**
   * Called once moto has handled a request (it has taken effect) and before its answer goes back to the caller; the
   * answer waits for a returned promise. E.g. send a signal right after a DeleteAccessKey took effect.
   */
  onHandled(cb: (req: { action: string; accessKeyId: string; index: number; status: number }) => void | Promise<void>): () => void {
    this.handledListeners.push(cb);
    return () => {
      this.handledListeners = this.handledListeners.filter((l) => l !== cb);
    };
  }

  reset(): void {
    this.requests.length = 0;
    this.faults = [];
    this.listeners = [];
    this.handledListeners = [];
    this.propagationDelayMs = 0;
  }

  actions(): string[] {
    return this.requests.map((r) => r.action);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pickFault(info: { action: string; accessKeyId: string; index: number }): AwsFault | undefined {
    for (const entry of this.faults) {
      const f = entry.fault;
      if (f.action !== undefined && !(typeof f.action === 'string' ? f.action === info.action : f.action.test(info.action))) continue;
      if (f.match && !f.match(info)) continue;
      entry.seen++;
      if (entry.seen <= (f.skip ?? 0)) continue;
      if (entry.used >= (f.times ?? Infinity)) continue;
      entry.used++;
      return f;
    }
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const params = new URLSearchParams(body.toString('utf8'));
    const action = params.get('Action') ?? '';
    const accessKeyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
    const index = this.requests.length;
    const record: AwsRequest = { action, accessKeyId, index, status: 0, startedAt: Date.now(), finishedAt: 0 };
    this.requests.push(record);
    const info = { action, accessKeyId, index };
    for (const l of this.listeners) await l(info);
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));

    // An answer the proxy makes up carries a Date header as IAM's do (the proxy's clock is IAM's: the real one).
    const answer = (status: number, text: string, headers: Record<string, string> = { 'content-type': 'text/xml', date: new Date().toUTCString() }) => {
      record.status = status;
      record.finishedAt = Date.now();
      res.writeHead(status, headers);
      res.end(text);
    };

    // Simulated propagation delay for keys created through this proxy.
    const createdAt = this.created.get(accessKeyId);
    if (action === 'GetCallerIdentity' && createdAt !== undefined) {
      if (Date.now() < createdAt + this.propagationDelayMs) {
        return answer(403, errorXml('InvalidClientTokenId', 'The security token included in the request is invalid.'));
      }
    }

    const fault = this.pickFault(info);
    if (fault && !fault.afterHandling) {
      if (fault.kind === 'hang') return; // never answer
      return answer(fault.status ?? 500, errorXml(fault.code ?? 'InternalFailure', fault.message ?? 'injected fault'));
    }

    const upstream = await this.forward(req, body);
    for (const l of this.handledListeners) await l({ ...info, status: upstream.status });
    if (action === 'CreateAccessKey' && upstream.status === 200) {
      const id = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(upstream.text)?.[1];
      if (id) this.created.set(id, Date.now());
    }
    if (action === 'GetCallerIdentity' && upstream.status === 200 && createdAt !== undefined && !this.firstWorked.has(accessKeyId)) {
      this.firstWorked.set(accessKeyId, Date.now());
    }
    if (fault?.afterHandling) {
      if (fault.kind === 'hang') return;
      return answer(fault.status ?? 500, errorXml(fault.code ?? 'InternalFailure', fault.message ?? 'injected fault'));
    }
    const text = this.rewrite && upstream.status === 200 ? this.rewrite({ action, params }, upstream.text) : upstream.text;
    answer(upstream.status, text, upstream.headers);
  }

  private forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; text: string; headers: Record<string, string> }> {
    return new Promise((resolve, reject) => {
      // Keep Host as it is: SigV4 signs it.
      const headers = { ...req.headers };
      const out = httpRequest(
        { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers },
        (up) => {
          const parts: Buffer[] = [];
          up.on('data', (d: Buffer) => parts.push(d));
          up.on('end', () =>
            resolve({
              status: up.statusCode ?? 502,
              text: Buffer.concat(parts).toString('utf8'),
              // The Date header too: the action reads IAM's clock from it (src/aws/iam-time.ts).
              headers: {
                'content-type': String(up.headers['content-type'] ?? 'text/xml'),
                ...(up.headers.date ? { date: String(up.headers.date) } : {}),
              },
            }),
          );
        },
      );
      out.on('error', reject);
      out.end(body);
    });
  }
}
