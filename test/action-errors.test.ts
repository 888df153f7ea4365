/**
 * The action, in-process through run() with the SDK's real credential chain and endpoint settings from the
 * environment: a step with no AWS credentials, an AWS_ENDPOINT_URL on a closed loopback port, and several bad inputs
 * at once. Each fails the step with one `::error::` line that says what to do. Also the rest of src/action/main.ts: the
 * token masked first, the cancel signals and the hard stop, a summary that cannot be written, and the runner IO
 * (workflow commands, CR/LF flattened). No AWS, moto or GitHub is contacted.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cancellation } from '../src/shared/cancel.js';
import { type RunDeps, run } from '../src/action/main.js';
import { FAST_PACING, fakeClock, reader, recorder } from './support/harness.js';

const saved = { ...process.env };
let stdout: string[];

beforeEach(() => {
  // Nothing from the machine running the tests: no AWS settings, no ~/.aws, no instance metadata, no runner files.
  for (const k of Object.keys(process.env)) {
    if ((k.startsWith('AWS_') && k !== 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED') || k.startsWith('GITHUB_') || k.startsWith('INPUT_')) delete process.env[k];
  }
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials';
  process.env.AWS_CONFIG_FILE = '/nonexistent/config';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  stdout = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  jest.restoreAllMocks();
  process.env = { ...saved };
  process.exitCode = undefined;
});

/** run() as the runner would start it, with these inputs; returns the result, the log and the ::error:: lines. */
async function runAction(inputs: Record<string, string>, deps: Partial<RunDeps> = {}) {
  const io = recorder();
  const result = await run({
    env: process.env,
    readInput: reader(inputs),
    io,
    clock: fakeClock(),
    pacing: FAST_PACING,
    awsTimeouts: { requestTimeoutMs: 2000, maxAttempts: 3 },
    cancel: new Cancellation(),
    onCancelSignals: () => () => {},
    exit: () => {},
    ...deps,
  });
  const errors = stdout
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('::error::'));
  return { result, io, errors };
}

/** A loopback endpoint that accepts connections and never answers (a hung AWS endpoint). */
async function hungEndpoint(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const hung = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(hung.address() as AddressInfo).port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => hung.close(() => resolve()));
    },
  };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the action explains failures it can act on', () => {
  it('no AWS credentials at all: says the step has none and how to give it some', async () => {
    process.env.GITHUB_REPOSITORY = 'octo/app';
    const { errors, io } = await runAction({ 'iam-user-name': 'deployer' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^::error::loading AWS credentials on this job failed: this step has no AWS credentials \(CredentialsProviderError: /);
    expect(errors[0]).toContain('set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from secrets');
    expect(errors[0]).toContain('run aws-actions/configure-aws-credentials before this step');
    expect(errors[0]).not.toContain('AWS message');
    expect(io.lines.filter((l) => l.includes('retrying'))).toEqual([]);
  });

  it('AWS_ENDPOINT_URL on a closed port: each retry is logged, and the error names the endpoint and the variable', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    Object.assign(process.env, {
      GITHUB_REPOSITORY: 'octo/app',
      AWS_ENDPOINT_URL: url,
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
    });
    const { errors, io } = await runAction({});
    const retries = io.lines.filter((l) => l.includes('retrying'));
    expect(retries).toEqual([
      expect.stringMatching(new RegExp(`^AWS sts:GetCallerIdentity \\(${url}\\): attempt 1 of 3 failed \\(ECONNREFUSED: .*\\); retrying in \\d+ ms$`)),
      expect.stringMatching(new RegExp(`^AWS sts:GetCallerIdentity \\(${url}\\): attempt 2 of 3 failed \\(ECONNREFUSED: .*\\); retrying in \\d+ ms$`)),
    ]);
    // The retries are logged inside the group where the call is made.
    expect(io.lines.indexOf('## IAM user')).toBeLessThan(io.lines.indexOf(retries[0]));
    expect(errors).toEqual([
      `::error::sts:GetCallerIdentity on the AWS credentials of this job failed: ${url} refused the connection (3 attempts): ` +
        `ECONNREFUSED: connect ECONNREFUSED ${url.slice('http://'.length)}. AWS_ENDPOINT_URL is set to ${url}: check it ` +
        '(unset it to use AWS itself). Nothing was changed.',
    ]);
  });

  it('a hung endpoint: the timed-out attempt is logged at once, and the error says the endpoint did not answer', async () => {
    const { url, close } = await hungEndpoint();
    try {
      Object.assign(process.env, {
        GITHUB_REPOSITORY: 'octo/app',
        AWS_ENDPOINT_URL: url,
        AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'secret',
      });
      const { errors, io } = await runAction({}, { awsTimeouts: { requestTimeoutMs: 300, maxAttempts: 5 } });
      expect(io.lines.filter((l) => l.includes('retrying'))).toEqual([
        expect.stringMatching(
          new RegExp(`^AWS sts:GetCallerIdentity \\(${url}\\): attempt 1 of 5 failed \\(no answer within 300 ms\\); retrying in \\d+ ms$`),
        ),
      ]);
      expect(errors).toEqual([
        `::error::sts:GetCallerIdentity on the AWS credentials of this job failed: ${url} did not answer within 300 ms ` +
          '(2 attempts): ETIMEDOUT: a request has exceeded the configured 300 ms requestTimeout. ' +
          `AWS_ENDPOINT_URL is set to ${url}: check it (unset it to use AWS itself). Nothing was changed.`,
      ]);
    } finally {
      await close();
    }
  });

  // The runner sends SIGINT, SIGTERM 7.5 s later and SIGKILL 2.5 s after: a run stuck in a request it cannot abandon
  // must still report (from its journal) and exit before then.
  it('a cancel the run cannot finish in time: after hardStopMs it reports what it knows and exits 1, once', async () => {
    const { url, close } = await hungEndpoint();
    try {
      Object.assign(process.env, { GITHUB_REPOSITORY: 'octo/app', AWS_ENDPOINT_URL: url, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' });
      let signal: ((name: string) => void) | undefined;
      let removed = false;
      const exits: number[] = [];
      const running = runAction(
        {},
        {
          awsTimeouts: { requestTimeoutMs: 1_500, maxAttempts: 1 },
          onCancelSignals: (handler) => {
            signal = handler;
            return () => void (removed = true);
          },
          hardStopMs: 50,
          exit: (code) => void exits.push(code),
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 100)); // the run waits on the hung endpoint
      signal?.('SIGINT');
      signal?.('SIGTERM'); // a second signal changes nothing
      for (let i = 0; i < 40 && exits.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));

      expect(exits).toEqual([1]);
      const reported = stdout.join('').split('\n').filter((l) => l.startsWith('::error::'));
      expect(reported).toEqual([
        '::error::the run was cancelled (SIGINT) and could not finish cleaning up in time: see the summary for where each destination stands',
      ]);
      expect(stdout.join('')).toContain('::set-output name=rotated::false');

      const { io } = await running; // the request times out; the run ends (the runner would have killed it by now)
      expect(io.warnings).toEqual(['SIGINT received: cancelling — no new step starts; the run makes whole any pair it is writing (or says it could not) and reports where each destination stands']);
      expect(removed).toBe(true);
      expect(exits).toEqual([1]);
    } finally {
      await close();
    }
  });

  it('a cancel the run finishes in time: one error line, and no hard stop afterwards', async () => {
    Object.assign(process.env, { GITHUB_REPOSITORY: 'octo/app', AWS_ENDPOINT_URL: `http://127.0.0.1:${await closedPort()}`, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' });
    let signal: ((name: string) => void) | undefined;
    const exits: number[] = [];
    const running = runAction(
      {},
      {
        awsTimeouts: { requestTimeoutMs: 1_000, maxAttempts: 1 },
        onCancelSignals: (handler) => {
          signal = handler;
          return () => {};
        },
        hardStopMs: 100,
        exit: (code) => void exits.push(code),
      },
    );
    signal?.('SIGINT');
    const { result, errors } = await running;
    await new Promise((resolve) => setTimeout(resolve, 300)); // past hardStopMs: the timer was cleared

    expect(exits).toEqual([]);
    expect(result?.cancelled).toBe(true);
    expect(errors).toHaveLength(1);
  });

  it('a job summary that cannot be written is a warning; the error line still comes', async () => {
    Object.assign(process.env, {
      GITHUB_REPOSITORY: 'octo/app',
      GITHUB_STEP_SUMMARY: '/nonexistent/dir/summary',
      AWS_ENDPOINT_URL: `http://127.0.0.1:${await closedPort()}`,
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
    });
    const { errors } = await runAction({}, { awsTimeouts: { requestTimeoutMs: 1_000, maxAttempts: 1 } });
    const warnings = stdout.join('').split('\n').filter((l) => l.startsWith('::warning::'));
    expect(warnings).toEqual([expect.stringMatching(/^::warning::could not write the job summary: .*\/nonexistent\/dir\/summary/)]);
    expect(errors).toEqual([expect.stringMatching(/^::error::sts:GetCallerIdentity on the AWS credentials of this job failed: /)]);
  });

  it('masks the GitHub token first, even when the inputs are invalid', async () => {
    await runAction({ 'github-token': '  ghp_secretvalue  ', repositories: 'not a repo' });
    const out = stdout.join('');
    expect(out.startsWith('::add-mask::ghp_secretvalue\n')).toBe(true);
    expect(out.match(/ghp_secretvalue/g)).toHaveLength(1);

    stdout.length = 0;
    await runAction({ 'github-token': '', repositories: 'not a repo' });
    expect(stdout.join('')).not.toContain('::add-mask::');
  });

  it('several bad inputs: one ::error:: line naming each, with the hint for a space-separated list', async () => {
    const { result, errors } = await runAction({ repositories: 'octo/api octo/web', 'aws-region': 'moon', 'dry-run': 'yes' });
    expect(result).toBeUndefined();
    expect(errors).toEqual([
      "::error::3 inputs are invalid: repositories: 'octo/api octo/web' is not owner/name: separate entries with commas " +
        "or newlines, not spaces; aws-region: 'moon' is not an AWS region (e.g. us-east-1, us-gov-west-1, cn-north-1); " +
        "dry-run: 'yes' is not a boolean (use true or false)",
    ]);
  });

  it('an unknown input (INPUT_DRYRUN) stops the run before any AWS or GitHub client is made', async () => {
    Object.assign(process.env, { GITHUB_REPOSITORY: 'octo/app', INPUT_DRYRUN: 'true', 'INPUT_DRY-RUN': 'false' });
    const made: string[] = [];
    const { result, errors } = await runAction(
      {},
      {
        makeAws: () => {
          made.push('aws');
          throw new Error('no AWS client may be made');
        },
        makeGitHub: () => {
          made.push('github');
          throw new Error('no GitHub client may be made');
        },
      },
    );
    expect(result).toBeUndefined();
    expect(made).toEqual([]);
    expect(errors).toEqual([
      "::error::dryrun: is not an input of this action (INPUT_DRYRUN, from the step's with: or env:): did you mean dry-run?",
    ]);
  });
});

describe('the runner IO (coreIO)', () => {
  it('log lines from servers cannot start a workflow command: CR/LF are flattened', async () => {
    const { coreIO } = await import('../src/action/main.js');
    const written: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    try {
      coreIO.info('GitHub said: fine\n::error::injected\r\n::add-mask::x');
    } finally {
      process.stdout.write = original;
    }
    expect(written.join('')).toBe('GitHub said: fine ::error::injected ::add-mask::x\n');
  });

  it('the runner IO: warnings and group titles are flattened too; masks, exports and groups reach the runner', async () => {
    const { coreIO } = await import('../src/action/main.js');
    const written: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    const savedEnv = process.env.GITHUB_ENV;
    delete process.env.GITHUB_ENV;
    process.stdout.write = ((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    try {
      coreIO.warning('bad\r\n::error::x');
      coreIO.setSecret('s3cret');
      coreIO.exportVariable('RAAK_TEST_VARIABLE', 'v');
      expect(await coreIO.group('Step\nname', async () => 7)).toBe(7);
    } finally {
      process.stdout.write = original;
      if (savedEnv !== undefined) process.env.GITHUB_ENV = savedEnv;
      delete process.env.RAAK_TEST_VARIABLE;
    }
    expect(written.join('').split('\n')).toEqual([
      '::warning::bad ::error::x',
      '::add-mask::s3cret',
      '::set-env name=RAAK_TEST_VARIABLE::v',
      '::group::Step name',
      '::endgroup::',
      '',
    ]);
  });
});

describe('a successful run through run()', () => {
  it('writes the outputs and the summary, and no error line', async () => {
    const { memoryClients, memoryGitHub, memoryIam, userKey } = await import('./support/memory-world.js');
    const dir = mkdtempSync(join(tmpdir(), 'run-ok-'));
    try {
      const iam = memoryIam();
      userKey(iam, 'AKIAOLD0000000000001');
      const github = await memoryGitHub(['octo/api']);
      const { aws } = memoryClients(iam, { as: { accessKeyId: 'AKIAADMIN00000000001', secretAccessKey: 'admin' } });
      Object.assign(process.env, { GITHUB_OUTPUT: join(dir, 'output'), GITHUB_STEP_SUMMARY: join(dir, 'summary') });
      writeFileSync(join(dir, 'output'), '');
      writeFileSync(join(dir, 'summary'), '');
      Object.assign((await import('@actions/core')).summary, { _filePath: undefined }); // see the hard-stop test
      const baseUrls: string[] = [];
      const controls: unknown[] = [];
      const { result, errors } = await runAction(
        { 'iam-user-name': 'deployer', repositories: 'octo/api' },
        {
          makeAws: () => aws,
          makeGitHub: (_token, baseUrl, _pacing, _io, control) => (baseUrls.push(baseUrl), controls.push(control), github.gh),
          lease: { ttlMs: 3_600_000, waitMs: 1_000, pollMs: 100, settleMs: 10 },
        },
      );
      expect(result?.error).toBeUndefined();
      expect(errors).toEqual([]);
      expect(baseUrls).toEqual(['https://api.github.com']); // GITHUB_API_URL unset: github.com
      // GitHub's rate-limit waits run on the run's clock and end on its cancel.
      expect(controls).toEqual([{ clock: expect.objectContaining({ now: expect.any(Function) }), cancel: expect.any(Cancellation) }]);
      const output = readFileSync(join(dir, 'output'), 'utf8');
      expect(output).toMatch(/^rotated<<\S+\ntrue\n/);
      expect(output).toContain(`access-key-id<<`);
      expect(readFileSync(join(dir, 'summary'), 'utf8')).toContain('<h2>Rotate AWS access key</h2>');
      expect(github.pair('octo/api')?.accessKeyId).toBe(result?.newKeyId);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a hard stop after a destination was written', () => {
  it('reports, from the journal, where each destination stands, and that the run was cancelled', async () => {
    const { memoryClients, memoryGitHub, memoryIam, userKey } = await import('./support/memory-world.js');
    const dir = mkdtempSync(join(tmpdir(), 'run-stop-'));
    try {
      const iam = memoryIam();
      const old = userKey(iam, 'AKIAOLD0000000000001');
      const github = await memoryGitHub(['octo/api', 'octo/web']);
      github.hold(old, 'octo/api', 'octo/web');
      let held = false;
      github.before((method, path) => {
        if (method !== 'PUT' || !path.startsWith('/repos/octo/web/')) return undefined;
        held = true;
        return new Promise<void>(() => {}); // GitHub never answers the second destination
      });
      const { aws } = memoryClients(iam, { as: { accessKeyId: 'AKIAADMIN00000000001', secretAccessKey: 'admin' } });
      Object.assign(process.env, { GITHUB_OUTPUT: join(dir, 'output'), GITHUB_STEP_SUMMARY: join(dir, 'summary') });
      writeFileSync(join(dir, 'output'), '');
      writeFileSync(join(dir, 'summary'), '');
      // @actions/core keeps the summary path of its first write for the whole process (one step, in production):
      // forget the one an earlier test in this file used.
      Object.assign((await import('@actions/core')).summary, { _filePath: undefined });
      let signal: ((name: string) => void) | undefined;
      const exits: number[] = [];
      void runAction(
        { 'iam-user-name': 'deployer', repositories: 'octo/api,octo/web' },
        {
          makeAws: () => aws,
          makeGitHub: () => github.gh,
          lease: { ttlMs: 3_600_000, waitMs: 1_000, pollMs: 100, settleMs: 10 },
          onCancelSignals: (handler) => {
            signal = handler;
            return () => {};
          },
          hardStopMs: 20,
          exit: (code) => void exits.push(code),
        },
      );
      for (let i = 0; i < 200 && !held; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      signal?.('SIGINT');
      for (let i = 0; i < 200 && exits.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));

      expect(exits).toEqual([1]);
      const output = readFileSync(join(dir, 'output'), 'utf8');
      expect(output).toContain('"repository":"octo/api"'); // written: in the destinations output
      expect(output).not.toContain('"repository":"octo/web"');
      const summary = readFileSync(join(dir, 'summary'), 'utf8');
      expect(summary).toContain('<td>cancelled</td>');
      expect(summary).toMatch(/octo\/web.*(unknown|UNKNOWN)/s);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a hard stop while the lease is given back, after a complete rotation', () => {
  it('reports the rotation as done (outputs, summary, no error line, exit 0) and warns that the lease tag may be left', async () => {
    const { memoryClients, memoryGitHub, memoryIam, userKey } = await import('./support/memory-world.js');
    const dir = mkdtempSync(join(tmpdir(), 'run-stop-release-'));
    try {
      const iam = memoryIam();
      const old = userKey(iam, 'AKIAOLD0000000000001');
      const github = await memoryGitHub(['octo/api']);
      github.hold(old, 'octo/api');
      // IAM never answers the UntagUser that gives the lease back.
      const send = iam.iam.send;
      let releasing = false;
      iam.iam.send = (cmd: unknown) => {
        if ((cmd as object).constructor.name !== 'UntagUserCommand') return send(cmd);
        releasing = true;
        return new Promise(() => {});
      };
      const { aws } = memoryClients(iam, { as: { accessKeyId: 'AKIAADMIN00000000001', secretAccessKey: 'admin' } });
      Object.assign(process.env, { GITHUB_OUTPUT: join(dir, 'output'), GITHUB_STEP_SUMMARY: join(dir, 'summary') });
      writeFileSync(join(dir, 'output'), '');
      writeFileSync(join(dir, 'summary'), '');
      Object.assign((await import('@actions/core')).summary, { _filePath: undefined }); // see the hard-stop test above
      let signal: ((name: string) => void) | undefined;
      const exits: number[] = [];
      const io = recorder();
      void runAction(
        { 'iam-user-name': 'deployer', repositories: 'octo/api' },
        {
          io,
          makeAws: () => aws,
          makeGitHub: () => github.gh,
          lease: { ttlMs: 3_600_000, waitMs: 1_000, pollMs: 100, settleMs: 10 },
          onCancelSignals: (handler) => {
            signal = handler;
            return () => {};
          },
          hardStopMs: 20,
          exit: (code) => void exits.push(code),
        },
      );
      for (let i = 0; i < 200 && !releasing; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(releasing).toBe(true);
      signal?.('SIGINT');
      for (let i = 0; i < 200 && exits.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));

      expect(exits).toEqual([0]);
      expect(stdout.join('').split('\n').filter((l) => l.startsWith('::error::'))).toEqual([]);
      const output = readFileSync(join(dir, 'output'), 'utf8');
      expect(output).toMatch(/^rotated<<\S+\ntrue\n/);
      expect(output).toContain('"repository":"octo/api"');
      const summary = readFileSync(join(dir, 'summary'), 'utf8');
      expect(summary).toContain('<td>rotated</td>');
      expect(summary).not.toContain('cancelled');
      expect(io.warnings).toEqual([
        'SIGINT received: cancelling — no new step starts; the run makes whole any pair it is writing (or says it could not) and reports where each destination stands',
        'SIGINT arrived after the rotation completed, while the lease on IAM user deployer was being given back: the tag ' +
          'rotate-aws-access-key:lease may be left on the user until 2026-11-27T13:00:00Z (IAM time), and other runs on ' +
          'this user wait for it until then; to clear it now: aws iam untag-user --user-name deployer --tag-keys ' +
          'rotate-aws-access-key:lease',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a refused GitHub read: the workflow GITHUB_TOKEN's advice follows the token github-token is", () => {
  /** The ::error:: line of a run whose every GitHub read is refused with a 403, with this github-token (and env). */
  async function refused(token: string, env: Record<string, string> = {}): Promise<string> {
    const { memoryClients, memoryGitHub, memoryIam, userKey } = await import('./support/memory-world.js');
    const { failure } = await import('./support/scripted-github.js');
    const iam = memoryIam();
    userKey(iam, 'AKIAOLD0000000000001');
    const github = await memoryGitHub(['octo/api']);
    github.before(() => {
      throw failure(403, 'Resource not accessible by integration');
    });
    const { aws } = memoryClients(iam, { as: { accessKeyId: 'AKIAADMIN00000000001', secretAccessKey: 'admin' } });
    Object.assign(process.env, env);
    stdout.length = 0;
    const { errors } = await runAction(
      { 'iam-user-name': 'deployer', repositories: 'octo/api', 'github-token': token },
      { makeAws: () => aws, makeGitHub: () => github.gh, lease: { ttlMs: 3_600_000, waitMs: 1_000, pollMs: 100, settleMs: 10 } },
    );
    expect(errors).toHaveLength(1);
    return errors[0];
  }

  it('a classic or fine-grained PAT is never told about the workflow GITHUB_TOKEN', async () => {
    for (const token of ['ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnop']) {
      const line = await refused(token);
      expect(line).toContain('403 Resource not accessible by integration. the token needs');
      expect(line).not.toContain('GITHUB_TOKEN');
    }
  });

  it("the job's own GITHUB_TOKEN (the env's) is told so; an installation token (ghs_) is told it may be", async () => {
    const token = 'ghs_0123456789abcdefghijklmnopqrstuvwxyz';
    expect(await refused(token, { GITHUB_TOKEN: token })).toContain(
      "github-token is the workflow's GITHUB_TOKEN, which cannot write secrets: pass a fine-grained PAT, classic PAT or GitHub App token as github-token",
    );
    expect(await refused(token, { GITHUB_TOKEN: 'ghs_another' })).toContain(
      "If github-token is the workflow's GITHUB_TOKEN: it cannot write secrets; pass a fine-grained PAT",
    );
  });
});
