/**
 * End to end behind a proxy: the built dist/index.js on Node 24, as the runner runs it, with HTTP_PROXY or
 * HTTPS_PROXY set to a loopback proxy that counts what it carried per target. Both clients must go through it: the
 * AWS SDK (which reads no proxy variable itself) to moto, and Octokit to the GitHub stand-in. Over https, moto and the
 * stand-in sit behind TLS fronts with a self-signed certificate the child trusts through NODE_EXTRA_CA_CERTS, so each
 * client must open a CONNECT tunnel.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { ForwardProxy } from './support/forward-proxy.js';
import { GitHubStandin } from './support/github-standin.js';
import { type Creds, type Moto, createUserWithKey, requireMoto, seedAdmin, startMoto } from './support/moto.js';
import { DIST, leaks, node24, runAction } from './support/runner.js';
import { TlsFront, certificate } from './support/tls-front.js';

requireMoto();

let moto: Moto;
let gh: GitHubStandin;
let admin: Creds;
let proxy: ForwardProxy;

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error('dist/index.js is missing: run npm run package');
  node24();
  [moto, gh, proxy] = await Promise.all([startMoto(), GitHubStandin.start(), ForwardProxy.start()]);
  admin = await seedAdmin(moto);
  gh.addRepository('octo/behind-proxy');
}, 200_000);
afterAll(async () => {
  await Promise.all([moto?.stop(), gh?.stop(), proxy?.stop()]);
});
beforeEach(() => {
  proxy.reset();
  gh.reset();
  gh.addRepository('octo/behind-proxy');
});

const host = (url: string) => new URL(url).host;

/** A dry run for `user` with `env` (AWS credentials added), reading octo/behind-proxy's public key and secrets. */
async function dryRun(user: string, env: Record<string, string>) {
  const key = await createUserWithKey(moto, admin, user);
  return runAction({
    inputs: { 'github-token': 'test-token', repositories: 'octo/behind-proxy', 'dry-run': 'true' },
    env: { AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey, ...env },
  });
}

function expectDryRunSucceeded(run: Awaited<ReturnType<typeof dryRun>>, user: string): void {
  expect(run.errors).toEqual([]);
  expect(run.code).toBe(0);
  expect(run.stderr).toBe(''); // no warning from the proxy libraries either
  expect(run.stdout).toContain(`Dry run: would create a new access key for ${user}`);
  expect(gh.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
    'GET /repos/octo/behind-proxy/actions/secrets/public-key',
    'GET /repos/octo/behind-proxy/actions/secrets',
  ]);
}

describe('dist/index.js on Node 24 behind a proxy', () => {
  it('HTTP_PROXY: IAM and STS requests to moto and the GitHub requests all go through the proxy', async () => {
    const withAuth = proxy.url.replace('http://', 'http://runner:pr0xy-pw@');
    const run = await dryRun('px-http', { AWS_ENDPOINT_URL: moto.endpoint, GITHUB_API_URL: gh.url, HTTP_PROXY: withAuth });
    expectDryRunSucceeded(run, 'px-http');
    // The proxy's password is masked before anything is logged, and both clients sent it to the proxy.
    expect(run.masked).toContain('pr0xy-pw');
    expect(leaks(run, 'pr0xy-pw')).toEqual([]);
    expect(new Set(proxy.authorizations)).toEqual(new Set([`Basic ${Buffer.from('runner:pr0xy-pw').toString('base64')}`]));
    // moto is http://: absolute-form requests (GetCallerIdentity, ListAccessKeys, … at least three).
    expect(proxy.forwarded.get(host(moto.endpoint))).toBeGreaterThanOrEqual(3);
    // Each in absolute form, those sent on a kept-alive connection too: the proxy always sees the host.
    expect(proxy.requestLines.filter((l) => !l.includes(' http://'))).toEqual([]);
    // Octokit's proxy dispatcher tunnels every request, http:// ones too.
    expect(proxy.through(host(gh.url))).toBeGreaterThanOrEqual(1);
  });

  it('NO_PROXY: the host it lists is reached directly, the other still through the proxy', async () => {
    const run = await dryRun('px-noproxy', {
      AWS_ENDPOINT_URL: moto.endpoint,
      GITHUB_API_URL: gh.url,
      http_proxy: proxy.url,
      no_proxy: `example.com,${host(gh.url)}`,
    });
    expectDryRunSucceeded(run, 'px-noproxy');
    expect(proxy.through(host(gh.url))).toBe(0);
    expect(proxy.forwarded.get(host(moto.endpoint))).toBeGreaterThanOrEqual(3);
  });

  it('HTTPS_PROXY: https:// AWS and GitHub endpoints are reached through CONNECT tunnels', async () => {
    const [awsFront, ghFront] = await Promise.all([TlsFront.start(moto.endpoint), TlsFront.start(gh.url)]);
    try {
      const run = await dryRun('px-https', {
        AWS_ENDPOINT_URL: awsFront.url,
        GITHUB_API_URL: ghFront.url,
        HTTPS_PROXY: proxy.url,
        NODE_EXTRA_CA_CERTS: certificate().path,
      });
      expectDryRunSucceeded(run, 'px-https');
      expect(proxy.tunnels.get(awsFront.hostPort)).toBeGreaterThanOrEqual(1);
      expect(proxy.tunnels.get(ghFront.hostPort)).toBeGreaterThanOrEqual(1);
      expect(proxy.forwarded.size).toBe(0); // nothing in the clear
      expect(awsFront.requests).toBeGreaterThanOrEqual(3);
      expect(ghFront.requests).toBe(2);
    } finally {
      await Promise.all([awsFront.stop(), ghFront.stop()]);
    }
  });

  it('a proxy the action cannot use fails with one ::error:: line, before any request', async () => {
    const run = await runAction({
      inputs: { 'github-token': 'test-token', repositories: 'octo/behind-proxy' },
      env: {
        AWS_ENDPOINT_URL: gh.url,
        AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'x',
        GITHUB_API_URL: gh.url,
        HTTPS_PROXY: 'socks5://runner:pr0xy-pw@127.0.0.1:1080',
      },
    });
    expect(run.code).toBe(1);
    expect(run.errors).toEqual([
      '::error::HTTPS_PROXY is set to socks5://runner:***@127.0.0.1:1080: this action speaks to http:// and https:// ' +
        'proxies only; point it at an HTTP proxy (or unset it)',
    ]);
    expect(gh.requests).toEqual([]);
    expect(proxy.tunnels.size + proxy.forwarded.size).toBe(0);
  });
});
