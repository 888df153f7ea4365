/**
 * Behind a proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY, read from the run's env, not process.env): which requests go
 * through it (curl's NO_PROXY rules), and the real clients — IAM and STS against moto, Octokit against the GitHub
 * stand-in — sending their requests through a loopback proxy that counts them per target, or past it when NO_PROXY
 * lists the host. (HTTPS tunnels are proven end to end, in e2e-proxy.test.ts, where the child trusts a test CA.)
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { type AwsClientOptions, callerIdentity, createAwsClients } from '../src/aws/aws.js';
import { createGitHubClient, createOctokit } from '../src/github/github.js';
import { SHIPPED_PACING } from '../src/github/pacer.js';
import { awsAgents, bypassesProxy, proxyFor, proxySecrets, proxySettings, shownProxy } from '../src/shared/proxy.js';
import { ForwardProxy } from './support/forward-proxy.js';
import { GitHubStandin } from './support/github-standin.js';
import { fakeClock } from './support/harness.js';
import { type Creds, type Moto, requireMoto, seedAdmin, startMoto } from './support/moto.js';

requireMoto();

const P = 'http://proxy.corp:3128';

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('proxySettings', () => {
  it('no proxy variable (or only empty ones, or only NO_PROXY): undefined, so the clients keep their own agents', () => {
    expect(proxySettings({})).toBeUndefined();
    expect(proxySettings({ HTTPS_PROXY: '', http_proxy: '  ', NO_PROXY: 'example.com' })).toBeUndefined();
    expect(awsAgents(undefined)).toBeUndefined();
  });

  it('reads both cases; the lower-case form wins, as curl reads it', () => {
    const s = proxySettings({ HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:2', HTTP_PROXY: 'http://plain:3' });
    expect(s?.https?.name).toBe('https_proxy');
    expect(s?.https?.url.href).toBe('http://lower:2/');
    expect(s?.http?.name).toBe('HTTP_PROXY');
    expect(proxySettings({ HTTPS_PROXY: 'http://upper:1', https_proxy: '' })?.https?.name).toBe('HTTPS_PROXY');
  });

  it('a proxy without a scheme is an http:// proxy; https:// proxies are kept', () => {
    expect(proxySettings({ HTTP_PROXY: 'proxy.corp:3128' })?.http?.url.href).toBe('http://proxy.corp:3128/');
    expect(proxySettings({ HTTPS_PROXY: 'https://proxy.corp' })?.https?.url.href).toBe('https://proxy.corp/');
  });

  it('NO_PROXY: both cases, commas and spaces, lower-cased', () => {
    expect(proxySettings({ HTTP_PROXY: P, no_proxy: 'A.example.com, .Corp ,,10.0.0.1:8080 localhost' })?.noProxy).toEqual([
      'a.example.com',
      '.corp',
      '10.0.0.1:8080',
      'localhost',
    ]);
    expect(proxySettings({ HTTP_PROXY: P, NO_PROXY: '*' })?.noProxy).toEqual(['*']);
  });

  it('a proxy the action cannot speak to fails naming the variable, never printing a password', () => {
    expect(() => proxySettings({ HTTPS_PROXY: 'socks5://user:hunter2@proxy.corp:1080' })).toThrow(
      'HTTPS_PROXY is set to socks5://user:***@proxy.corp:1080: this action speaks to http:// and https:// proxies only; point it at an HTTP proxy (or unset it)',
    );
    expect(() => proxySettings({ http_proxy: 'http://[::1' })).toThrow('http_proxy is not a proxy URL: set it to http://host:port (or unset it)');
  });

  it("a proxy's password is shown as *** and handed to the log to mask (as written and decoded)", () => {
    const s = proxySettings({ HTTPS_PROXY: 'http://me:p%40ss@proxy.corp:3128' });
    expect(shownProxy(s!.https!.url)).toBe('http://me:***@proxy.corp:3128');
    expect(proxySecrets(s)).toEqual(['p%40ss', 'p@ss']);
    expect(proxySecrets(proxySettings({ HTTPS_PROXY: P }))).toEqual([]);
  });
});

describe('proxyFor', () => {
  const settings = proxySettings({ HTTPS_PROXY: 'http://tls-proxy:1', HTTP_PROXY: 'http://plain-proxy:2' });

  it('https:// requests take HTTPS_PROXY, http:// ones HTTP_PROXY; https never falls back to HTTP_PROXY', () => {
    expect(proxyFor(settings, new URL('https://iam.amazonaws.com/'))?.name).toBe('HTTPS_PROXY');
    expect(proxyFor(settings, new URL('http://127.0.0.1:5000/'))?.name).toBe('HTTP_PROXY');
    expect(proxyFor(proxySettings({ HTTP_PROXY: P }), new URL('https://api.github.com/'))).toBeUndefined();
    expect(proxyFor(undefined, new URL('https://api.github.com/'))).toBeUndefined();
  });

  it.each([
    // [NO_PROXY, target, goes directly]
    ['*', 'https://api.github.com/', true],
    ['github.com', 'https://api.github.com/', true],
    ['github.com', 'https://github.com/', true],
    ['github.com', 'https://notgithub.com/', false],
    ['.github.com', 'https://api.github.com/', true],
    ['.github.com', 'https://github.com/', true],
    ['*.github.com', 'https://api.github.com/', true],
    ['api.github.com', 'https://uploads.github.com/', false],
    ['amazonaws.com:443', 'https://iam.amazonaws.com/', true],
    ['amazonaws.com:8443', 'https://iam.amazonaws.com/', false],
    ['127.0.0.1', 'http://127.0.0.1:5000/', true],
    ['127.0.0.1:5000', 'http://127.0.0.1:5000/', true],
    ['127.0.0.1:5001', 'http://127.0.0.1:5000/', false],
    ['127.0.0.2', 'http://127.0.0.1:5000/', false],
    ['localhost', 'http://127.0.0.1:5000/', false],
    ['::1', 'http://[::1]:5000/', true],
    ['[::1]:5000', 'http://[::1]:5000/', true],
    ['[::1]:5001', 'http://[::1]:5000/', false],
    ['GitHub.COM', 'https://API.github.com/', true],
    ['', 'https://api.github.com/', false],
  ])('NO_PROXY=%j, %s: directly %s', (noProxy, target, direct) => {
    const s = proxySettings({ HTTPS_PROXY: P, HTTP_PROXY: P, NO_PROXY: noProxy });
    expect(bypassesProxy(s!.noProxy, new URL(target))).toBe(direct);
    expect(proxyFor(s, new URL(target)) === undefined).toBe(direct);
  });
});

describe('the clients, through a loopback proxy', () => {
  let moto: Moto;
  let gh: GitHubStandin;
  let admin: Creds;
  let proxy: ForwardProxy;
  const saved = { ...process.env };
  const motoHost = () => new URL(moto.endpoint).host;
  const ghHost = () => new URL(gh.url).host;
  const TIMEOUTS = { requestTimeoutMs: 5_000, maxAttempts: 2 };

  beforeAll(async () => {
    [moto, gh, proxy] = await Promise.all([startMoto(), GitHubStandin.start(), ForwardProxy.start()]);
    admin = await seedAdmin(moto);
    gh.addRepository('octo/app');
    // What the SDK reads itself: the endpoint and the default clients' credentials. The proxy comes in as options.env.
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    process.env.AWS_ACCESS_KEY_ID = admin.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = admin.secretAccessKey;
  }, 60_000);
  afterAll(async () => {
    process.env = { ...saved };
    await Promise.all([moto?.stop(), gh?.stop(), proxy?.stop()]);
  });
  beforeEach(() => proxy.reset());

  /** Each kind of AWS client, one request each, and how many went through the proxy for it. */
  async function awsThrough(env: AwsClientOptions['env']): Promise<Record<string, number>> {
    const aws = createAwsClients('us-east-1', TIMEOUTS, { env });
    const counts: Record<string, number> = {};
    const count = async (name: string, send: () => Promise<unknown>) => {
      const before = proxy.through(motoHost());
      await send();
      counts[name] = proxy.through(motoHost()) - before;
    };
    await count('sts', () => aws.sts.send(new GetCallerIdentityCommand({})));
    await count('iam', () => aws.iam.send(new ListAccessKeysCommand({})));
    await count('iamOnce', () => aws.iamOnce.send(new ListAccessKeysCommand({})));
    await count('stsFor', () => aws.stsFor(admin).send(new GetCallerIdentityCommand({})));
    await count('iamFor', () => aws.iamFor(admin).send(new ListAccessKeysCommand({})));
    return counts;
  }

  it('AWS: IAM and STS (the run\'s own clients and the per-credential ones) go through HTTP_PROXY', async () => {
    expect(await awsThrough({ HTTP_PROXY: proxy.url })).toEqual({ sts: 1, iam: 1, iamOnce: 1, stsFor: 1, iamFor: 1 });
    expect(proxy.forwarded.get(motoHost())).toBe(5); // absolute-form requests: moto is http://
    expect(proxy.tunnels.size).toBe(0);
  });

  it('AWS: lower-case http_proxy too, with its credentials sent to the proxy', async () => {
    const withAuth = proxy.url.replace('http://', 'http://me:s3cret@');
    expect(await awsThrough({ http_proxy: withAuth })).toEqual({ sts: 1, iam: 1, iamOnce: 1, stsFor: 1, iamFor: 1 });
    expect(proxy.authorizations[0]).toBe(`Basic ${Buffer.from('me:s3cret').toString('base64')}`);
  });

  it('AWS: a host in NO_PROXY is reached directly (the proxy counts none for it)', async () => {
    const direct = { sts: 0, iam: 0, iamOnce: 0, stsFor: 0, iamFor: 0 };
    expect(await awsThrough({ HTTP_PROXY: proxy.url, NO_PROXY: 'example.com,127.0.0.1' })).toEqual(direct);
    expect(await awsThrough({ HTTP_PROXY: proxy.url, no_proxy: motoHost() })).toEqual(direct);
    // Another port of the same host is not listed: proxied.
    expect(await awsThrough({ HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1:1' })).toEqual({ sts: 1, iam: 1, iamOnce: 1, stsFor: 1, iamFor: 1 });
  });

  it('AWS: HTTPS_PROXY alone leaves an http:// endpoint direct; no proxy variable, no proxy', async () => {
    expect(await awsThrough({ HTTPS_PROXY: proxy.url })).toEqual({ sts: 0, iam: 0, iamOnce: 0, stsFor: 0, iamFor: 0 });
    expect(await awsThrough({})).toEqual({ sts: 0, iam: 0, iamOnce: 0, stsFor: 0, iamFor: 0 });
  });

  it('AWS: requests on a kept-alive connection to the proxy are each in absolute form (http:// endpoint)', async () => {
    // A keep-alive http:// target (moto closes each connection, so it cannot show this).
    const target = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(target.address() as AddressInfo).port}`;
    const agents = awsAgents(proxySettings({ HTTP_PROXY: proxy.url }));
    try {
      // As the SDK's handler sends them: one after the other, each ended (headers written) at once.
      for (const path of ['/first', '/second', '/third']) {
        const status = await new Promise<number | undefined>((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port: Number(host.split(':')[1]), path, method: 'POST', agent: agents!.httpAgent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode));
          });
          req.on('error', reject);
          req.end('body');
        });
        expect(status).toBe(200);
      }
      expect(proxy.requestLines).toEqual([`POST http://${host}/first`, `POST http://${host}/second`, `POST http://${host}/third`]);
      expect(proxy.forwarded.get(host)).toBe(3);
    } finally {
      agents?.httpAgent.destroy();
      await new Promise((resolve) => target.close(resolve));
    }
  });

  const pacing = { ...SHIPPED_PACING, retries: 0, requestTimeoutMs: 5_000 };

  it('GitHub: Octokit goes through HTTP_PROXY (env given to createGitHubClient, not process.env)', async () => {
    const client = createGitHubClient('test-token', gh.url, pacing, { warning: () => {} }, { clock: fakeClock() }, { HTTP_PROXY: proxy.url });
    const res = await client.request('GET /repos/{owner}/{repo}/actions/secrets/public-key', { owner: 'octo', repo: 'app' });
    expect(res.status).toBe(200);
    expect(proxy.through(ghHost())).toBeGreaterThanOrEqual(1);
    expect(proxy.through(motoHost())).toBe(0);
  });

  it('GitHub: a host in NO_PROXY is reached directly', async () => {
    const octokit = createOctokit('test-token', gh.url, pacing, { HTTP_PROXY: proxy.url, NO_PROXY: `example.com,${ghHost()}` });
    const res = await octokit.request('GET /repos/{owner}/{repo}/actions/secrets/public-key', { owner: 'octo', repo: 'app' });
    expect(res.status).toBe(200);
    expect(proxy.through(ghHost())).toBe(0);
  });

  it('GitHub: no proxy variable, no proxy (the default fetch, as before)', async () => {
    const octokit = createOctokit('test-token', gh.url, pacing, {});
    await octokit.request('GET /repos/{owner}/{repo}/actions/secrets/public-key', { owner: 'octo', repo: 'app' });
    expect(proxy.through(ghHost())).toBe(0);
  });

  /** STS GetCallerIdentity at `endpoint` (AWS_ENDPOINT_URL, which the SDK reads from process.env) with `env`. */
  async function stsFailure(endpoint: string, env: AwsClientOptions['env']): Promise<string> {
    process.env.AWS_ENDPOINT_URL = endpoint;
    try {
      const aws = createAwsClients('us-east-1', TIMEOUTS, { env });
      return await callerIdentity(aws.sts).then(
        () => 'no failure',
        (err: unknown) => (err as Error).message,
      );
    } finally {
      process.env.AWS_ENDPOINT_URL = moto.endpoint;
    }
  }

  it('AWS: a proxy that is down is named as the one that refused, with what to check', async () => {
    const port = await closedPort();
    const message = await stsFailure('https://sts.example.com', { HTTPS_PROXY: `http://me:pw@127.0.0.1:${port}` });
    expect(message).toBe(
      `sts:GetCallerIdentity on the AWS credentials of this job failed: the proxy http://me:***@127.0.0.1:${port} ` +
        `(HTTPS_PROXY) refused the connection (2 attempts): ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port}. the ` +
        `request went through the proxy http://me:***@127.0.0.1:${port} (HTTPS_PROXY): check that it is up and lets ` +
        'this runner reach https://sts.example.com, or list that host in NO_PROXY to go there directly',
    );
  });

  it("AWS: a proxy refusing the tunnel is told as the proxy's refusal, not as an answer from AWS", async () => {
    // The loopback proxy opens tunnels to loopback targets only: sts.example.com is refused with a 403.
    const message = await stsFailure('https://sts.example.com', { HTTPS_PROXY: proxy.url });
    expect(message).toBe(
      'sts:GetCallerIdentity on the AWS credentials of this job failed: could not reach https://sts.example.com: ' +
        `EPROXYTUNNEL: the proxy ${proxy.url} (HTTPS_PROXY) refused to open a tunnel to sts.example.com:443: 403 ` +
        `Forbidden. the request went through the proxy ${proxy.url} (HTTPS_PROXY): check that it is up and lets this ` +
        'runner reach https://sts.example.com, or list that host in NO_PROXY to go there directly',
    );
    expect(proxy.tunnels.size).toBe(0);
  });

  it('GitHub: a proxy that is down or refuses the tunnel is named in the failure', async () => {
    const port = await closedPort();
    const down = createOctokit('t', 'https://api.example.com', pacing, { HTTPS_PROXY: `http://127.0.0.1:${port}` });
    await expect(down.request('GET /x')).rejects.toThrow(
      `connect ECONNREFUSED 127.0.0.1:${port} (through the proxy http://127.0.0.1:${port} set in HTTPS_PROXY: check ` +
        'that it is up and lets this runner reach api.example.com, or list that host in NO_PROXY to go there directly)',
    );
    const refusing = createOctokit('t', 'https://api.example.com', pacing, { https_proxy: proxy.url });
    await expect(refusing.request('GET /x')).rejects.toThrow(
      `Proxy response (403) !== 200 when HTTP Tunneling (through the proxy ${proxy.url} set in https_proxy: check`,
    );
  });
});
