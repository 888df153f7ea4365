/**
 * The runner's proxy, as self-hosted runners set it: HTTPS_PROXY for https:// requests, HTTP_PROXY for http://
 * ones (the lower-case forms win, as curl reads them), and NO_PROXY for the hosts reached directly. Read from the
 * run's environment (a parameter), so both clients agree: the AWS SDK (whose Node HTTP handler builds its own agents
 * and reads no proxy variable) gets the agents made here, and Octokit's fetch asks proxyFor too (src/github/github.ts).
 * Without a proxy variable nothing here is used: each client keeps the agents it has always had.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { type Socket, isIPv6 } from 'node:net';
import type { AgentConnectOpts } from 'agent-base';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import type { Env } from './types.js';
import { ActionError } from './errors.js';

/** One proxy variable that is set: its name as set (HTTPS_PROXY or https_proxy) and the proxy it names. */
export interface ProxySetting {
  name: string;
  url: URL;
}

export interface ProxySettings {
  /** For http:// requests (http_proxy, HTTP_PROXY). */
  http: ProxySetting | undefined;
  /** For https:// requests (https_proxy, HTTPS_PROXY); an https request never falls back to HTTP_PROXY. */
  https: ProxySetting | undefined;
  /** NO_PROXY's entries, lower-cased. */
  noProxy: string[];
}

/** The value of `name` in either case (lower-case first, as curl and proxy-from-env read it); empty is unset. */
function either(env: Env, name: string): { name: string; value: string } | undefined {
  for (const n of [name.toLowerCase(), name.toUpperCase()]) {
    const value = env[n]?.trim();
    if (value) return { name: n, value };
  }
  return undefined;
}

/** A proxy URL as a log line may show it: a password in it is never printed. */
export function shownProxy(url: URL): string {
  if (!url.password) return url.href.replace(/\/$/, '');
  const copy = new URL(url.href);
  copy.password = '***';
  return copy.href.replace(/\/$/, '');
}

/** The passwords in the proxy URLs (as written and decoded), for the log to mask. */
export function proxySecrets(settings: ProxySettings | undefined): string[] {
  const secrets = new Set<string>();
  for (const proxy of [settings?.http, settings?.https]) {
    const password = proxy?.url.password;
    if (!password) continue;
    secrets.add(password);
    try {
      secrets.add(decodeURIComponent(password));
    } catch {
      // not percent-encoded: the password as written is the one to mask
    }
  }
  return [...secrets];
}

function proxySetting(env: Env, variable: string): ProxySetting | undefined {
  const set = either(env, variable);
  if (!set) return undefined;
  // Like curl: a proxy given without a scheme is an http:// proxy.
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(set.value) ? set.value : `http://${set.value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ActionError(`${set.name} is not a proxy URL: set it to http://host:port (or unset it)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ActionError(
      `${set.name} is set to ${shownProxy(url)}: this action speaks to http:// and https:// proxies only; ` +
        'point it at an HTTP proxy (or unset it)',
    );
  }
  if (!url.hostname) throw new ActionError(`${set.name} is set to ${shownProxy(url)}, which names no host: set it to http://host:port`);
  return { name: set.name, url };
}

/**
 * The proxy settings in `env`, or undefined when no proxy variable is set (then nothing changes). A value that is
 * not an http(s) proxy URL throws an ActionError naming the variable.
 */
export function proxySettings(env: Env): ProxySettings | undefined {
  const httpProxy = proxySetting(env, 'http_proxy');
  const httpsProxy = proxySetting(env, 'https_proxy');
  if (!httpProxy && !httpsProxy) return undefined;
  const noProxy = (either(env, 'no_proxy')?.value ?? '')
    .toLowerCase()
    .split(/[\s,]+/)
    .filter((entry) => entry !== '');
  return { http: httpProxy, https: httpsProxy, noProxy };
}

/** An entry's host and port: `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address. */
function hostAndPort(entry: string): { host: string; port: number | undefined } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { host: bracketed[1], port: bracketed[2] ? Number(bracketed[2]) : undefined };
  if (entry.indexOf(':') !== entry.lastIndexOf(':')) return { host: entry, port: undefined };
  const [host, port] = entry.split(':');
  return { host, port: port ? Number(port) : undefined };
}

/**
 * Does NO_PROXY send `target` directly? As curl reads it: `*` is every host; `example.com`, `.example.com` and
 * `*.example.com` are that domain and every name under it; `host:port` only that port; IP addresses match exactly.
 */
export function bypassesProxy(noProxy: string[], target: URL): boolean {
  const host = target.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
  return noProxy.some((entry) => {
    if (entry === '*') return true;
    const listed = hostAndPort(entry);
    if (listed.port !== undefined && listed.port !== port) return false;
    const domain = listed.host.replace(/^\*/, '').replace(/^\./, '').replace(/\.$/, '');
    return domain !== '' && (host === domain || host.endsWith(`.${domain}`));
  });
}

/** The proxy setting a request to `target` goes through, or undefined when it goes directly. */
export function proxyFor(settings: ProxySettings | undefined, target: URL): ProxySetting | undefined {
  if (!settings) return undefined;
  const proxy = target.protocol === 'https:' ? settings.https : target.protocol === 'http:' ? settings.http : undefined;
  return proxy && !bypassesProxy(settings.noProxy, target) ? proxy : undefined;
}

/** The SDK's own agent settings (NodeHttpHandler's defaults), kept for every agent made here. */
const AGENT_OPTIONS = { keepAlive: true, maxSockets: 50 };

/** The error a proxy's refusal to open a tunnel is thrown as (instead of its answer passing for the endpoint's). */
export const TUNNEL_REFUSED = 'EPROXYTUNNEL';

/** HttpsProxyAgent, except that a proxy refusing the CONNECT fails the request with TUNNEL_REFUSED, naming both. */
class TunnelAgent extends HttpsProxyAgent<string> {
  constructor(private readonly setting: ProxySetting) {
    super(setting.url.href, AGENT_OPTIONS);
  }

  override async connect(req: http.ClientRequest, opts: AgentConnectOpts): Promise<Socket> {
    let answer: { statusCode: number; statusText: string } | undefined;
    req.once('proxyConnect', (connect: { statusCode: number; statusText: string }) => (answer = connect));
    const socket = await super.connect(req, opts);
    if (answer && answer.statusCode !== 200) {
      socket.destroy();
      const message =
        `the proxy ${shownProxy(this.setting.url)} (${this.setting.name}) refused to open a tunnel to ` +
        `${opts.host}:${opts.port}: ${answer.statusCode} ${answer.statusText}`.trim();
      throw Object.assign(new Error(message), { code: TUNNEL_REFUSED });
    }
    return socket;
  }
}

/** What http.Agent does with a request (Node's, undocumented in its types). */
type AddRequest = (req: http.ClientRequest, opts: http.RequestOptions & { secureEndpoint?: boolean }) => void;

/**
 * An agent that hands each request, as it is made, to the agent the settings name for its target: the direct one
 * (like the SDK's own), or one through the proxy — a CONNECT tunnel for https:// targets, an absolute-form request
 * for http:// ones. Handing over in addRequest (called while the request is made, before its headers are written)
 * lets HttpProxyAgent rewrite every request, a kept-alive socket's second one too; each agent keeps its own sockets.
 * (Choosing in agent-base's connect() instead left the router's pool to reuse a socket with the path unrewritten.)
 */
function proxyRouter<A extends typeof http.Agent>(Base: A, settings: ProxySettings, secure: boolean): InstanceType<A> {
  const direct = new Base(AGENT_OPTIONS);
  const viaProxy = new Map<string, http.Agent>();
  const agentFor = (opts: http.RequestOptions): http.Agent => {
    const host = opts.hostname ?? opts.host ?? 'localhost';
    const protocol = secure ? 'https:' : 'http:';
    const target = new URL(`${protocol}//${isIPv6(host) ? `[${host}]` : host}${opts.port ? `:${opts.port}` : ''}`);
    const proxy = proxyFor(settings, target);
    if (!proxy) return direct;
    let agent = viaProxy.get(proxy.url.href);
    if (!agent) {
      agent = secure ? new TunnelAgent(proxy) : new HttpProxyAgent(proxy.url, AGENT_OPTIONS);
      viaProxy.set(proxy.url.href, agent);
    }
    return agent;
  };
  const router = new Base(AGENT_OPTIONS) as InstanceType<A>;
  Object.assign(router, {
    addRequest: ((req, opts) => {
      const agent = agentFor(opts) as http.Agent & { addRequest: AddRequest };
      agent.addRequest(req, { ...opts, secureEndpoint: secure });
    }) satisfies AddRequest,
    destroy: () => {
      direct.destroy();
      for (const agent of viaProxy.values()) agent.destroy();
    },
  });
  return router;
}

/** The httpAgent and httpsAgent of the AWS SDK's NodeHttpHandler for these settings; undefined leaves the SDK's own. */
export function awsAgents(settings: ProxySettings | undefined): { httpAgent: http.Agent; httpsAgent: https.Agent } | undefined {
  if (!settings) return undefined;
  return {
    httpAgent: proxyRouter(http.Agent, settings, false),
    httpsAgent: proxyRouter(https.Agent, settings, true),
  };
}
