/**
 * How the run's AWS requests are retried and how their failures read. Each retry is logged as it happens (what,
 * which attempt, how long until the next), and a failure that never got an answer from AWS — no credentials, a
 * refused, unresolvable or hung endpoint — is explained in terms a workflow author can act on, naming the endpoint
 * and the AWS_ENDPOINT_URL* variable that chose it.
 */
import type {
  FinalizeRequestMiddleware,
  MetadataBearer,
  MiddlewareStack,
  RetryErrorInfo,
  RetryStrategyV2,
  RetryToken,
} from '@smithy/types';
import { errorMessage } from '../shared/errors.js';
import { type ProxySetting, proxyFor, proxySettings, shownProxy } from '../shared/proxy.js';

export type AwsService = 'iam' | 'sts';
import type { Env } from '../shared/types.js';

export type { Env } from '../shared/types.js';

/** What one failed AWS request was: the operation, where it went, and the setting that sent it there. */
export interface AwsRequestInfo {
  /** e.g. iam:ListAccessKeys */
  operation: string;
  /** e.g. https://iam.amazonaws.com */
  endpoint: string;
  /** The environment variable that chose the endpoint, when one did. */
  setting: EndpointSetting | undefined;
  /** The proxy the request went through (HTTPS_PROXY, HTTP_PROXY), when one did. */
  proxy?: ProxySetting;
}

export interface EndpointSetting {
  name: string;
  value: string;
}

/** Failed requests, keyed by the error the SDK throws (the same object reaches the retry strategy and awsError). */
const requests = new WeakMap<object, AwsRequestInfo>();

/** The request an SDK error came from, when an observed client made it. */
export function requestOf(err: unknown): AwsRequestInfo | undefined {
  return typeof err === 'object' && err !== null ? requests.get(err) : undefined;
}

/** The AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL the SDK uses for `service`, as the SDK reads them. */
export function endpointSetting(service: AwsService, env: Env): EndpointSetting | undefined {
  if ((env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '').toLowerCase() === 'true') return undefined;
  for (const name of [`AWS_ENDPOINT_URL_${service.toUpperCase()}`, 'AWS_ENDPOINT_URL']) {
    const value = env[name];
    if (value) return { name, value };
  }
  return undefined;
}

/**
 * Remember, for every failed attempt of `client`, which operation went to which endpoint. Runs inside the SDK's
 * retry loop (right after its retry middleware), so it sees each attempt's own request and error.
 */
export function observeRequests<I extends object, O extends MetadataBearer>(
  client: { middlewareStack: MiddlewareStack<I, O> },
  service: AwsService,
  env: Env,
): void {
  const setting = endpointSetting(service, env);
  const proxies = proxySettings(env);
  const middleware: FinalizeRequestMiddleware<I, O> = (next, context) => async (args) => {
    try {
      return await next(args);
    } catch (caught) {
      const err = sameRealm(caught);
      if (typeof err === 'object' && err !== null) {
        const request = args.request as { protocol?: string; hostname?: string; port?: number } | undefined;
        const host = request?.hostname ?? '';
        const endpoint = host ? `${request?.protocol ?? 'https:'}//${host}${request?.port ? `:${request.port}` : ''}` : 'AWS';
        requests.set(err, {
          operation: `${service}:${String(context.commandName ?? 'request').replace(/Command$/, '')}`,
          endpoint,
          setting,
          proxy: host ? proxyFor(proxies, new URL(endpoint)) : undefined,
        });
      }
      throw err;
    }
  };
  client.middlewareStack.addRelativeTo(middleware, {
    relation: 'after',
    toMiddleware: 'retryMiddleware',
    name: 'rememberFailedAwsRequest',
  });
}

/**
 * An Error of this realm with the same fields. A Node error raised in another realm (a VM-based test runner loads
 * the SDK in its own) fails `instanceof Error`, and the SDK would replace it with a bare wrapper, losing its code.
 */
function sameRealm(err: unknown): unknown {
  if (err instanceof Error || typeof err !== 'object' || err === null) return err;
  const e = err as { name?: unknown; message?: unknown; stack?: unknown };
  if (typeof e.message !== 'string') return err;
  return Object.assign(new Error(e.message), err, { name: e.name, stack: e.stack });
}

// ---- retries ----------------------------------------------------------------------------------------------------

/** The SDK's standard retry constants (2026 defaults): full-jitter exponential backoff, capped. */
const BASE_DELAY_MS = 50;
const THROTTLING_BASE_DELAY_MS = 1_000;
const MAX_DELAY_MS = 20_000;
/** A request that timed out this many times is not tried again: an endpoint that hung twice will not answer. */
export const MAX_TIMED_OUT_ATTEMPTS = 2;

interface Token extends RetryToken {
  timedOut: number;
}

function token(count: number, delay: number, timedOut: number): Token {
  return { getRetryCount: () => count, getRetryDelay: () => delay, timedOut };
}

/**
 * The SDK's standard retry rule — retry throttling and transient errors (as the SDK classifies them), at most
 * `maxAttempts` attempts, full-jitter exponential backoff — that logs each retry before its wait. Timeouts are
 * retried at most once more (MAX_TIMED_OUT_ATTEMPTS), so a hung endpoint costs two request timeouts, not five.
 * The SDK waits the token's delay itself, abortably.
 */
export class LoggedRetryStrategy implements RetryStrategyV2 {
  constructor(
    private readonly maxAttempts: number,
    private readonly log: (message: string) => void = () => {},
    private readonly random: () => number = Math.random,
  ) {}

  async acquireInitialRetryToken(): Promise<RetryToken> {
    return token(0, 0, 0);
  }

  async refreshRetryTokenForRetry(previous: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    const failed = previous.getRetryCount() + 1;
    const timedOut = ((previous as Partial<Token>).timedOut ?? 0) + (isTimeout(info.error) ? 1 : 0);
    // IAM's LimitExceeded is a quota (tags or keys per user), which the SDK classifies as throttling: never retried.
    const quota = /^LimitExceeded(Exception)?$/.test(shape(info.error).name ?? '');
    const retryable = !quota && (info.errorType === 'THROTTLING' || info.errorType === 'TRANSIENT');
    if (!retryable || failed >= this.maxAttempts || timedOut >= MAX_TIMED_OUT_ATTEMPTS) {
      throw new Error('no retry'); // the SDK then throws the request's own error
    }
    const base = info.errorType === 'THROTTLING' ? THROTTLING_BASE_DELAY_MS : BASE_DELAY_MS;
    let delay = Math.floor(this.random() * Math.min(base * 2 ** previous.getRetryCount(), MAX_DELAY_MS));
    if (info.retryAfterHint instanceof Date) {
      delay = Math.max(delay, Math.min(info.retryAfterHint.getTime() - Date.now(), delay + 5_000));
    }
    const request = requestOf(info.error);
    const what = request ? `AWS ${request.operation} (${request.endpoint})` : 'An AWS request';
    this.log(
      `${what}: attempt ${failed} of ${this.maxAttempts} failed (${failureReason(info.error)}); ` +
        `retrying in ${duration(delay)}`,
    );
    return token(failed, delay, timedOut);
  }

  recordSuccess(): void {}
}

function duration(ms: number): string {
  return ms < 1000 ? `${Math.max(0, Math.round(ms))} ms` : `${(ms / 1000).toFixed(1)} s`;
}

// ---- what a failure means ---------------------------------------------------------------------------------------

interface ErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  address?: string;
  port?: number;
  hostname?: string;
}

function shape(err: unknown): ErrorShape {
  return (typeof err === 'object' && err !== null ? err : {}) as ErrorShape;
}

/** The SDK found no credentials (or could not load the configured ones). */
export function isCredentialsError(err: unknown): boolean {
  return /^(?:Credentials)?ProviderError$/.test(shape(err).name ?? '');
}

/** An answer from the AWS service (or whatever answers at its endpoint), rather than a failure to get one. */
export function isAwsAnswer(err: unknown): boolean {
  const e = shape(err);
  return e.$metadata?.httpStatusCode !== undefined || e.$fault !== undefined;
}

function isTimeout(err: unknown): boolean {
  const e = shape(err);
  return !isAwsAnswer(err) && (e.code === 'ETIMEDOUT' || (e.name === 'TimeoutError' && !isClosed(e)));
}

function isClosed(e: ErrorShape): boolean {
  return e.code === 'ECONNRESET' || e.code === 'EPIPE' || /socket hang up/i.test(e.message ?? '');
}

/** The SDK's own message, without its `@smithy/node-http-handler - [ERROR] ` prefix. */
function sdkMessage(err: unknown): string {
  const { message } = shape(err);
  const text = typeof message === 'string' && message ? errorMessage(message) : errorMessage(err);
  return text.replace(/^@smithy\/[\w-]+ - (?:\[\w+\] )?/, '').replace(/\.+$/, '');
}

/** Short reason for a retry log line. */
function failureReason(err: unknown): string {
  const e = shape(err);
  if (isTimeout(err)) return `no answer${timeoutText(e)}`;
  if (isAwsAnswer(err)) return `${e.name ?? 'Error'}: ${sdkMessage(err)}`;
  return `${e.code ?? e.name ?? 'Error'}: ${sdkMessage(err)}`;
}

function timeoutText(e: ErrorShape): string {
  const ms = /(\d+) ?ms\b/.exec(e.message ?? '')?.[1];
  return ms === undefined ? ' in time' : ` within ${duration(Number(ms))}`;
}

/** Where a failure went: the observed request's endpoint, else what the network error names. */
function endpointOf(err: unknown): string {
  const request = requestOf(err);
  if (request) return request.endpoint;
  const e = shape(err);
  if (e.hostname) return e.hostname;
  if (e.address) return `${e.address}${e.port ? `:${e.port}` : ''}`;
  return 'the AWS endpoint';
}

/** The proxy the failed request went through, when the failure was reaching the proxy itself. */
function failedProxy(err: unknown): ProxySetting | undefined {
  const proxy = requestOf(err)?.proxy;
  if (!proxy) return undefined;
  const e = shape(err);
  const proxyHost = proxy.url.hostname.replace(/^\[|\]$/g, '');
  const proxyPort = Number(proxy.url.port) || (proxy.url.protocol === 'https:' ? 443 : 80);
  const atProxy = e.hostname === proxyHost || (e.address === proxyHost && (e.port === undefined || e.port === proxyPort));
  return atProxy ? proxy : undefined;
}

/** What to check when the endpoint could not be reached: the proxy, the variable that chose it, or the network. */
function reachHint(err: unknown): string {
  const request = requestOf(err);
  if (request?.proxy) {
    const { name, url } = request.proxy;
    return (
      `the request went through the proxy ${shownProxy(url)} (${name}): check that it is up and lets this runner ` +
      `reach ${request.endpoint}, or list that host in NO_PROXY to go there directly`
    );
  }
  const setting = request?.setting;
  if (setting) return `${setting.name} is set to ${setting.value}: check it (unset it to use AWS itself)`;
  return 'check that this runner can reach AWS (network, firewall, DNS), or rerun later';
}

/** A note for answers that did not come from AWS's own endpoint, or undefined when AWS itself answered. */
export function endpointNote(err: unknown): string | undefined {
  const setting = requestOf(err)?.setting;
  return setting ? `the answer came from ${setting.value} (${setting.name}): check that it is an AWS endpoint` : undefined;
}

/**
 * The sentence for a request that got no answer (refused, unresolvable, hung, reset, TLS), or undefined when `err`
 * is not such a failure. Names the endpoint, the attempts, the error code, and what to check.
 */
export function networkFailure(err: unknown): string | undefined {
  if (isAwsAnswer(err)) return undefined;
  const e = shape(err);
  const code = e.code ?? '';
  const proxy = failedProxy(err);
  const endpoint = proxy ? `the proxy ${shownProxy(proxy.url)} (${proxy.name})` : endpointOf(err);
  let what: string;
  if (code === 'ECONNREFUSED') what = `${endpoint} refused the connection`;
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') what = `the host name of ${endpoint} did not resolve`;
  else if (isClosed(e)) what = `${endpoint} closed the connection without answering`;
  else if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') what = `${endpoint} is unreachable from this runner`;
  else if (isTimeout(err)) what = `${endpoint} did not answer${timeoutText(e)}`;
  else if (/CERT|TLS|SSL/.test(code)) what = `the TLS certificate of ${endpoint} was not accepted`;
  else if (/^E[A-Z]+$/.test(code)) what = `could not reach ${endpoint}`;
  else return undefined;
  const attempts = e.$metadata?.attempts ?? 1;
  const tries = attempts > 1 ? ` (${attempts} attempts)` : '';
  return `${what}${tries}: ${code || e.name || 'Error'}: ${sdkMessage(err)}. ${reachHint(err)}`;
}

/** The sentence for a CredentialsProviderError: the step has no AWS credentials, and how to give it some. */
export function noCredentials(err: unknown): string {
  return (
    `this step has no AWS credentials (${shape(err).name}: ${sdkMessage(err)}). Give it some: set AWS_ACCESS_KEY_ID ` +
    'and AWS_SECRET_ACCESS_KEY from secrets in the step\'s env: (a secret that does not exist is an empty string), ' +
    'or run aws-actions/configure-aws-credentials before this step'
  );
}

/** The sentence for an error that is neither an AWS answer nor a known network failure (e.g. a bug, a bad URL). */
export function notFromAws(err: unknown): string {
  const e = shape(err);
  const setting = requestOf(err)?.setting;
  const where = setting ? `; ${setting.name} is set to ${setting.value}: check it` : '';
  return `${e.name ?? 'Error'}: ${sdkMessage(err)}. This did not come from AWS: the request failed before AWS answered${where}`;
}
