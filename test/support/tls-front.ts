/**
 * An https:// front for a loopback http:// server (moto, the GitHub stand-in): it terminates TLS with a self-signed
 * certificate for 127.0.0.1, made here with openssl, and passes each request on unchanged (Host included: SigV4 signs
 * it). A client trusts the certificate through NODE_EXTRA_CA_CERTS=<certificate().path> (a child process).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Certificate {
  key: string;
  cert: string;
  /** The certificate's PEM file (for NODE_EXTRA_CA_CERTS). */
  path: string;
}

let made: Certificate | undefined;

/** A self-signed certificate for IP 127.0.0.1 and localhost (made once per test file). */
export function certificate(): Certificate {
  if (made) return made;
  const dir = mkdtempSync(join(tmpdir(), 'raak-tls-'));
  const keyPath = join(dir, 'key.pem');
  const path = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', keyPath, '-out', path],
    { stdio: 'ignore' },
  );
  return (made = { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(path, 'utf8'), path });
}

export class TlsFront {
  /** Requests the front passed on. */
  requests = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    readonly url: string,
    readonly hostPort: string,
  ) {}

  /** An https:// front on a free loopback port for `target` (an http:// origin). */
  static async start(target: string): Promise<TlsFront> {
    const { key, cert } = certificate();
    const to = new URL(target);
    const holder: { front?: TlsFront } = {};
    const server = createServer({ key, cert }, (req, res) => {
      if (holder.front) holder.front.requests++;
      const out = httpRequest(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      out.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end('upstream failed')));
      req.pipe(out);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const front = new TlsFront(server, `https://127.0.0.1:${port}`, `127.0.0.1:${port}`);
    holder.front = front;
    server.on('connection', (s: Socket) => {
      front.sockets.add(s);
      s.on('close', () => front.sockets.delete(s));
    });
    return front;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
