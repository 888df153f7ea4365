/**
 * AWS failures that teach: no credentials, unreachable or hung endpoints (naming the endpoint and AWS_ENDPOINT_URL),
 * and each SDK retry logged as it happens. Errors are built the way the SDK builds them, and real clients are pointed
 * at closed and hung loopback ports (no AWS, no moto).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CredentialsProviderError } from '@smithy/core/config';
import type { RetryErrorInfo } from '@smithy/types';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { CreateAccessKeyCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { awsError, callerIdentity, createAwsClients, listAccessKeys, tagUser } from '../src/aws/aws.js';
import { LoggedRetryStrategy, MAX_TIMED_OUT_ATTEMPTS, endpointSetting } from '../src/aws/aws-requests.js';

const NO_AWS_MESSAGE = /AWS message/;

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A loopback server that accepts connections and never answers. */
async function hungServer(): Promise<{ url: string; connections: () => number; stop: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A Node network error as `net` raises it (connect ECONNREFUSED, getaddrinfo ENOTFOUND, …). */
function netError(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

describe('awsError: no credentials', () => {
  it('says the step has no AWS credentials and how to give it some', () => {
    const err = new CredentialsProviderError('Could not load credentials from any providers', { tryNextLink: false });
    const message = awsError('loading AWS credentials', 'this job', err).message;
    expect(message).toBe(
      'loading AWS credentials on this job failed: this step has no AWS credentials (CredentialsProviderError: Could ' +
        "not load credentials from any providers). Give it some: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from secrets in the step's " +
        'env: (a secret that does not exist is an empty string), or run aws-actions/configure-aws-credentials before this step',
    );
    expect(message).not.toMatch(NO_AWS_MESSAGE);
  });

  describe('with the SDK default chain and nothing configured', () => {
    const saved = { ...process.env };
    beforeEach(() => {
      for (const k of Object.keys(process.env)) if (k.startsWith('AWS_') && k !== 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED') delete process.env[k];
      process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials';
      process.env.AWS_CONFIG_FILE = '/nonexistent/config';
      process.env.AWS_EC2_METADATA_DISABLED = 'true';
    });
    afterEach(() => {
      process.env = { ...saved };
    });

    it('the first STS call fails with the no-credentials hint, without a network request', async () => {
      const log: string[] = [];
      const aws = createAwsClients('us-east-1', { requestTimeoutMs: 1000, maxAttempts: 3 }, { log: (m) => log.push(m) });
      const err = await callerIdentity(aws.sts).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(
        /^sts:GetCallerIdentity on the AWS credentials of this job failed: this step has no AWS credentials \(CredentialsProviderError: /,
      );
      expect(err?.message).toContain('aws-actions/configure-aws-credentials');
      expect(log).toEqual([]); // not retried
    });
  });
});

describe('awsError: network failures name the endpoint, never "the AWS message"', () => {
  it.each([
    [
      'connection refused',
      netError('connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '127.0.0.1', port: 1, $metadata: { attempts: 5, totalRetryDelay: 300 } }),
      'sts:GetCallerIdentity on the AWS credentials of this job failed: 127.0.0.1:1 refused the connection (5 attempts): ' +
        'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1. check that this runner can reach AWS (network, firewall, DNS), or rerun later',
    ],
    [
      'host name does not resolve',
      netError('getaddrinfo ENOTFOUND sts.moon-1.amazonaws.com', { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'sts.moon-1.amazonaws.com' }),
      'sts:GetCallerIdentity on the AWS credentials of this job failed: the host name of sts.moon-1.amazonaws.com did not ' +
        'resolve: ENOTFOUND: getaddrinfo ENOTFOUND sts.moon-1.amazonaws.com. check that this runner can reach AWS (network, firewall, DNS), or rerun later',
    ],
    [
      'request timeout (TimeoutError, ETIMEDOUT)',
      Object.assign(new Error('@smithy/node-http-handler - [ERROR] a request has exceeded the configured 30000 ms requestTimeout.'), {
        name: 'TimeoutError',
        code: 'ETIMEDOUT',
        $metadata: { attempts: 2 },
      }),
      'sts:GetCallerIdentity on the AWS credentials of this job failed: the AWS endpoint did not answer within 30.0 s (2 attempts): ' +
        'ETIMEDOUT: a request has exceeded the configured 30000 ms requestTimeout. check that this runner can reach AWS (network, firewall, DNS), or rerun later',
    ],
    [
      'socket hang up (ECONNRESET, which the SDK renames TimeoutError)',
      Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' }),
      'sts:GetCallerIdentity on the AWS credentials of this job failed: the AWS endpoint closed the connection without ' +
        'answering: ECONNRESET: socket hang up. check that this runner can reach AWS (network, firewall, DNS), or rerun later',
    ],
  ])('%s', (_, err, expected) => {
    const message = awsError('sts:GetCallerIdentity', 'the AWS credentials of this job', err).message;
    expect(message).toBe(expected);
    expect(message).not.toMatch(NO_AWS_MESSAGE);
  });

  it('an error that is neither an AWS answer nor a network failure says so', () => {
    const message = awsError('iam:ListAccessKeys', 'IAM user u', new TypeError('Invalid URL')).message;
    expect(message).toBe(
      'iam:ListAccessKeys on IAM user u failed: TypeError: Invalid URL. This did not come from AWS: the request failed before AWS answered',
    );
    expect(message).not.toMatch(NO_AWS_MESSAGE);
  });

  it('AWS answers keep their form: name, AWS message, hint', () => {
    const denied = Object.assign(new Error('User: x is not authorized'), {
      name: 'AccessDenied',
      $fault: 'client',
      $metadata: { httpStatusCode: 403, attempts: 1 },
    });
    expect(awsError('iam:ListAccessKeys', 'IAM user u', denied).message).toBe(
      'iam:ListAccessKeys on IAM user u failed: AccessDenied: User: x is not authorized. the AWS credentials need iam:ListAccessKeys on IAM user u',
    );
    const odd = Object.assign(new Error('Something new.'), { name: 'NewAwsError', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    expect(awsError('iam:ListAccessKeys', 'IAM user u', odd).message).toBe(
      'iam:ListAccessKeys on IAM user u failed: NewAwsError: Something new. see the AWS message',
    );
  });

  it.each([
    ['AccessDenied', 'the AWS credentials need iam:ListAccessKeys on IAM user u'],
    ['AccessDeniedException', 'the AWS credentials need iam:ListAccessKeys on IAM user u'],
    ['UnauthorizedOperation', 'the AWS credentials need iam:ListAccessKeys on IAM user u'],
    ['NoSuchEntity', 'IAM user u does not exist: check the name (or set create-user: true to create the user)'],
    ['NoSuchEntityException', 'IAM user u does not exist: check the name (or set create-user: true to create the user)'],
    ['InvalidClientTokenId', 'the AWS credentials of this job are invalid or expired: check the step that configures them'],
    ['SignatureDoesNotMatch', 'the AWS credentials of this job are invalid or expired: check the step that configures them'],
    ['ExpiredToken', 'the AWS credentials of this job are invalid or expired: check the step that configures them'],
    ['ExpiredTokenException', 'the AWS credentials of this job are invalid or expired: check the step that configures them'],
    ['UnrecognizedClientException', 'the AWS credentials of this job are invalid or expired: check the step that configures them'],
    ['Throttling', 'AWS kept throttling after retries: rerun later'],
    ['ThrottlingException', 'AWS kept throttling after retries: rerun later'],
    ['LimitExceeded', 'an IAM quota is reached (the AWS message says which)'],
    ['LimitExceededException', 'an IAM quota is reached (the AWS message says which)'],
    ['TimeoutError', 'AWS did not answer in time after retries: rerun later'],
    ['RequestTimeout', 'AWS did not answer in time after retries: rerun later'],
  ])('%s: says what to do', (name, hint) => {
    const err = Object.assign(new Error('AWS said so'), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
    const wrapped = awsError('iam:ListAccessKeys', 'IAM user u', err);
    expect(wrapped.message).toBe(`iam:ListAccessKeys on IAM user u failed: ${name}: AWS said so. ${hint}`);
    expect(wrapped.cause).toBe(err); // isAccessDenied and the lease read the AWS error behind the message
  });

  it("drops AWS's own trailing dots, not the ones inside the message", () => {
    const err = Object.assign(new Error('Key a.b is bad...'), { name: 'Odd', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    expect(awsError('iam:X', 'IAM user u', err).message).toBe('iam:X on IAM user u failed: Odd: Key a.b is bad. see the AWS message');
  });
});

describe('endpointSetting', () => {
  it('prefers the service variable, then AWS_ENDPOINT_URL; honours AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', () => {
    expect(endpointSetting('iam', {})).toBeUndefined();
    expect(endpointSetting('iam', { AWS_ENDPOINT_URL: 'http://a' })).toEqual({ name: 'AWS_ENDPOINT_URL', value: 'http://a' });
    expect(endpointSetting('iam', { AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_IAM: 'http://i' })).toEqual({
      name: 'AWS_ENDPOINT_URL_IAM',
      value: 'http://i',
    });
    expect(endpointSetting('sts', { AWS_ENDPOINT_URL_IAM: 'http://i' })).toBeUndefined();
    expect(endpointSetting('sts', { AWS_ENDPOINT_URL: 'http://a', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })).toBeUndefined();
  });
});

describe('real clients against loopback endpoints', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_') && k !== 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED') delete process.env[k];
    process.env.AWS_ACCESS_KEY_ID = 'AKIAEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret';
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials';
    process.env.AWS_CONFIG_FILE = '/nonexistent/config';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  it('a closed port: each retry is logged (what, attempt, wait); the error names the endpoint and AWS_ENDPOINT_URL', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    process.env.AWS_ENDPOINT_URL = url;
    const log: string[] = [];
    const aws = createAwsClients('us-east-1', { requestTimeoutMs: 2000, maxAttempts: 3 }, { log: (m) => log.push(m) });
    const err = await callerIdentity(aws.sts).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    const port = url.split(':')[2];
    expect(log).toHaveLength(2);
    log.forEach((line, i) =>
      expect(line).toMatch(
        new RegExp(
          `^AWS sts:GetCallerIdentity \\(${url}\\): attempt ${i + 1} of 3 failed \\(ECONNREFUSED: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\); retrying in \\d+ ms$`,
        ),
      ),
    );
    expect(err?.message).toBe(
      `sts:GetCallerIdentity on the AWS credentials of this job failed: ${url} refused the connection (3 attempts): ` +
        `ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port}. AWS_ENDPOINT_URL is set to ${url}: check it (unset it to use AWS itself)`,
    );
  });

  it('each client: iam and sts retry, iamOnce and stsFor try once; stsFor and iamFor sign with the key given', async () => {
    const seen: { key: string; action: string }[] = [];
    const server = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const key = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? '';
        seen.push({ key, action: new URLSearchParams(body).get('Action') ?? '' });
        res.writeHead(500, { 'content-type': 'text/xml' });
        res.end('<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceFailure</Code><Message>down</Message></Error><RequestId>r</RequestId></ErrorResponse>');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const aws = createAwsClients('us-east-1', { requestTimeoutMs: 2000, maxAttempts: 2 });
      const other = { accessKeyId: 'AKIAOTHERKEY', secretAccessKey: 'other-secret' };
      const attempts = async (send: () => Promise<unknown>) => {
        seen.length = 0;
        await expect(send()).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
        return seen.map((x) => `${x.action} ${x.key}`);
      };

      expect(await attempts(() => aws.iam.send(new ListAccessKeysCommand({ UserName: 'u' })))).toEqual([
        'ListAccessKeys AKIAEXAMPLE',
        'ListAccessKeys AKIAEXAMPLE',
      ]);
      // CreateAccessKey is not idempotent: the SDK never sends it twice.
      expect(await attempts(() => aws.iamOnce.send(new CreateAccessKeyCommand({ UserName: 'u' })))).toEqual(['CreateAccessKey AKIAEXAMPLE']);
      expect(await attempts(() => aws.sts.send(new GetCallerIdentityCommand({})))).toEqual([
        'GetCallerIdentity AKIAEXAMPLE',
        'GetCallerIdentity AKIAEXAMPLE',
      ]);
      // Verifying a new key: one try per poll (verifyKey polls on its own schedule), signed with the new key.
      expect(await attempts(() => aws.stsFor(other).send(new GetCallerIdentityCommand({})))).toEqual(['GetCallerIdentity AKIAOTHERKEY']);
      // After the handover a self-rotation signs with the new key.
      expect(await attempts(() => aws.iamFor(other).send(new ListAccessKeysCommand({ UserName: 'u' })))).toEqual([
        'ListAccessKeys AKIAOTHERKEY',
        'ListAccessKeys AKIAOTHERKEY',
      ]);
      // Each client is made once, on first use.
      expect(aws.iam).toBe(aws.iam);
      expect(aws.iamOnce).toBe(aws.iamOnce);
      expect(aws.sts).toBe(aws.sts);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("TagUser at IAM's 50-tags-per-user quota: said as the tag quota, sent once (the SDK would retry it as throttling)", async () => {
    const seen: string[] = [];
    const server = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push(new URLSearchParams(body).get('Action') ?? '');
        // As IAM answers: 409, the query protocol's error document (Node adds the Date header).
        res.writeHead(409, { 'content-type': 'text/xml' });
        res.end(
          '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>' +
            '<Code>LimitExceeded</Code><Message>Cannot exceed quota for TagsPerUser: 50</Message></Error>' +
            '<RequestId>r</RequestId></ErrorResponse>',
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const log: string[] = [];
      const aws = createAwsClients('us-east-1', { requestTimeoutMs: 2000, maxAttempts: 5 }, { log: (m) => log.push(m) });
      const err = await tagUser(aws.iam, 'deployer', [{ Key: 'rotate-aws-access-key:lease', Value: 'x' }]).then(
        () => undefined,
        (e: unknown) => e as Error & { cause?: { name?: string } },
      );
      expect(seen).toEqual(['TagUser']);
      expect(log).toEqual([]);
      expect(err?.cause?.name).toBe('LimitExceededException');
      expect(err?.message).toBe(
        'iam:TagUser on IAM user deployer failed: LimitExceededException: Cannot exceed quota for TagsPerUser: 50. ' +
          "IAM user deployer has reached IAM's limit of 50 tags per user: this action needs room for 4 (the lease, the " +
          'create marker, and one per access key): remove tags you do not need (aws iam list-user-tags --user-name deployer)',
      );
      expect(err?.message).not.toMatch(/two access keys/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('IAM names AWS_ENDPOINT_URL_IAM when that chose its endpoint', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9'; // not used by IAM
    process.env.AWS_ENDPOINT_URL_IAM = url;
    const aws = createAwsClients('us-east-1', { requestTimeoutMs: 2000, maxAttempts: 1 });
    const err = await listAccessKeys(aws.iam, 'deployer').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(new RegExp(`^iam:ListAccessKeys on IAM user deployer failed: ${url} refused the connection: ECONNREFUSED`));
    expect(err?.message).toContain(`AWS_ENDPOINT_URL_IAM is set to ${url}: check it`);
    expect(err?.message).not.toContain('(1 attempts)');
  });

  describe('a hung endpoint (accepts, never answers)', () => {
    let hung: Awaited<ReturnType<typeof hungServer>>;
    beforeAll(async () => {
      hung = await hungServer();
    });
    afterAll(async () => {
      await hung.stop();
    });

    it(`logs the timed-out attempt at once and gives up after ${MAX_TIMED_OUT_ATTEMPTS} timeouts: the endpoint did not answer`, async () => {
      process.env.AWS_ENDPOINT_URL = hung.url;
      const log: { at: number; line: string }[] = [];
      const started = Date.now();
      const aws = createAwsClients(
        'us-east-1',
        { requestTimeoutMs: 300, maxAttempts: 5 },
        { log: (line) => log.push({ at: Date.now() - started, line }) },
      );
      const before = hung.connections();
      const err = await callerIdentity(aws.sts).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      const took = Date.now() - started;
      expect(hung.connections() - before).toBe(MAX_TIMED_OUT_ATTEMPTS);
      expect(log.map((l) => l.line)).toEqual([
        expect.stringMatching(
          new RegExp(`^AWS sts:GetCallerIdentity \\(${hung.url}\\): attempt 1 of 5 failed \\(no answer within 300 ms\\); retrying in \\d+ ms$`),
        ),
      ]);
      expect(log[0].at).toBeGreaterThanOrEqual(250); // logged when the first attempt timed out,
      expect(log[0].at).toBeLessThan(took - 250); // before the second one
      expect(err?.message).toBe(
        `sts:GetCallerIdentity on the AWS credentials of this job failed: ${hung.url} did not answer within 300 ms ` +
          `(2 attempts): ETIMEDOUT: a request has exceeded the configured 300 ms requestTimeout. ` +
          `AWS_ENDPOINT_URL is set to ${hung.url}: check it (unset it to use AWS itself)`,
      );
    });
  });
});

describe('LoggedRetryStrategy', () => {
  /** What the SDK's retry middleware hands the strategy for a failed attempt. */
  const failure = (error: unknown, errorType: RetryErrorInfo['errorType'], retryAfterHint?: Date): RetryErrorInfo => ({
    error: error as RetryErrorInfo['error'],
    errorType,
    retryAfterHint,
  });
  const transient = (error: unknown) => failure(error, 'TRANSIENT');

  it('retries throttling and transient errors up to maxAttempts, with full-jitter exponential waits', async () => {
    const log: string[] = [];
    const strategy = new LoggedRetryStrategy(4, (m) => log.push(m), () => 0.999);
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });
    let token = await strategy.acquireInitialRetryToken();
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      token = await strategy.refreshRetryTokenForRetry(token, failure(throttled, 'THROTTLING'));
      delays.push(token.getRetryDelay());
    }
    expect(delays).toEqual([999, 1998, 3996]);
    await expect(strategy.refreshRetryTokenForRetry(token, failure(throttled, 'THROTTLING'))).rejects.toThrow();
    expect(log).toEqual([
      'An AWS request: attempt 1 of 4 failed (Throttling: Rate exceeded); retrying in 999 ms',
      'An AWS request: attempt 2 of 4 failed (Throttling: Rate exceeded); retrying in 2.0 s',
      'An AWS request: attempt 3 of 4 failed (Throttling: Rate exceeded); retrying in 4.0 s',
    ]);
  });

  it('never waits more than 20 s', async () => {
    const strategy = new LoggedRetryStrategy(20, () => {}, () => 0.999);
    let token = await strategy.acquireInitialRetryToken();
    for (let i = 0; i < 15; i++) {
      token = await strategy.refreshRetryTokenForRetry(token, failure(new Error('x'), 'THROTTLING'));
    }
    expect(token.getRetryDelay()).toBeLessThanOrEqual(20_000);
  });

  it.each(['LimitExceeded', 'LimitExceededException'])(
    "does not retry IAM's %s, which the SDK classifies as throttling: a quota, not a rate",
    async (name) => {
      const log: string[] = [];
      const strategy = new LoggedRetryStrategy(5, (m) => log.push(m));
      const quota = Object.assign(new Error('Cannot exceed quota for TagsPerUser: 50'), { name, $metadata: { httpStatusCode: 409 } });
      const token = await strategy.acquireInitialRetryToken();
      await expect(strategy.refreshRetryTokenForRetry(token, failure(quota, 'THROTTLING'))).rejects.toThrow();
      expect(log).toEqual([]);
    },
  );

  it('does not retry client errors, and logs nothing for them', async () => {
    const log: string[] = [];
    const strategy = new LoggedRetryStrategy(5, (m) => log.push(m));
    const token = await strategy.acquireInitialRetryToken();
    await expect(strategy.refreshRetryTokenForRetry(token, failure(new Error('denied'), 'CLIENT_ERROR'))).rejects.toThrow();
    expect(log).toEqual([]);
  });

  it('a refused connection is retried to maxAttempts; timeouts only until the second one', async () => {
    const strategy = new LoggedRetryStrategy(5, () => {}, () => 0);
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const timeout = Object.assign(new Error('a request has exceeded the configured 30000 ms requestTimeout'), {
      name: 'TimeoutError',
      code: 'ETIMEDOUT',
    });
    let token = await strategy.acquireInitialRetryToken();
    for (let i = 0; i < 4; i++) token = await strategy.refreshRetryTokenForRetry(token, transient(refused));
    await expect(strategy.refreshRetryTokenForRetry(token, transient(refused))).rejects.toThrow();

    token = await strategy.acquireInitialRetryToken();
    token = await strategy.refreshRetryTokenForRetry(token, transient(refused));
    token = await strategy.refreshRetryTokenForRetry(token, transient(timeout));
    await expect(strategy.refreshRetryTokenForRetry(token, transient(timeout))).rejects.toThrow();
  });

  it('honours a Retry-After hint (bounded to 5 s over its own wait)', async () => {
    const strategy = new LoggedRetryStrategy(3, () => {}, () => 0);
    const token = await strategy.acquireInitialRetryToken();
    const next = await strategy.refreshRetryTokenForRetry(
      token,
      failure(new Error('slow down'), 'THROTTLING', new Date(Date.now() + 60_000)),
    );
    expect(next.getRetryDelay()).toBe(5_000);
  });
});
