/**
 * The IAM and STS calls of src/aws/aws.ts in-process, with a scripted client: paging, CreateAccessKey's own throttling
 * retry, creating a user and undoing it part-way, and verifying a new key (backoff, deadline, whose key it is).
 * The integration tests run the same calls against moto; these pin each rule.
 */
import { describe, expect, it } from '@jest/globals';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { STSClient } from '@aws-sdk/client-sts';
import {
  KeyQuotaReached,
  awsErrorName,
  createAccessKey,
  createUser,
  deleteCreatedUser,
  getUser,
  isAccessDenied,
  listAccessKeys,
  listUserTags,
  userSettings,
  verifyKey,
} from '../src/aws/aws.js';
import { ActionError } from '../src/shared/errors.js';
import { fakeClock } from './support/harness.js';
import { awsFailure } from './support/memory-iam.js';

type Answer = unknown | Error | ((input: Record<string, unknown>) => unknown);

/** A client answering each request from `answers` in turn (an Error is thrown), recording command names and inputs. */
function scripted(answers: Answer[]) {
  const calls: { command: string; input: Record<string, unknown> }[] = [];
  const client = {
    send: async (cmd: { constructor: { name: string }; input: Record<string, unknown> }) => {
      calls.push({ command: cmd.constructor.name.replace(/Command$/, ''), input: cmd.input });
      const next = answers.shift();
      if (next instanceof Error) throw next;
      return typeof next === 'function' ? (next as (i: Record<string, unknown>) => unknown)(cmd.input) : (next ?? {});
    },
  };
  return { client, calls, commands: () => calls.map((c) => c.command) };
}
const iam = (s: ReturnType<typeof scripted>) => s.client as unknown as IAMClient;
const CREDS = { accessKeyId: 'AKIANEW', secretAccessKey: 'new-secret' };

describe('listUserTags', () => {
  it('reads every page, passing the marker on', async () => {
    const s = scripted([
      { Tags: [{ Key: 'a', Value: '1' }], IsTruncated: true, Marker: 'm1' },
      { Tags: [{ Key: 'b', Value: '2' }], IsTruncated: true, Marker: 'm2' },
      { Tags: [{ Key: 'c' }], IsTruncated: false, Marker: 'ignored' },
    ]);
    expect(await listUserTags(iam(s), 'deployer')).toEqual([
      { Key: 'a', Value: '1' },
      { Key: 'b', Value: '2' },
      { Key: 'c', Value: '' },
    ]);
    expect(s.calls.map((c) => c.input)).toEqual([
      { UserName: 'deployer', Marker: undefined },
      { UserName: 'deployer', Marker: 'm1' },
      { UserName: 'deployer', Marker: 'm2' },
    ]);
  });
});

describe('createAccessKey', () => {
  const made = { AccessKey: { AccessKeyId: 'AKIANEW', SecretAccessKey: 'new-secret' } };

  it('returns the new pair', async () => {
    const s = scripted([made]);
    expect(await createAccessKey(iam(s), 'deployer', fakeClock())).toEqual({ ...CREDS, created: expect.any(Date) });
    expect(s.calls).toEqual([{ command: 'CreateAccessKey', input: { UserName: 'deployer' } }]);
  });

  it('tries a throttled request again, after a growing jittered wait, up to four attempts', async () => {
    const clock = fakeClock();
    const s = scripted([awsFailure('Throttling'), awsFailure('ThrottlingException'), awsFailure('Throttling'), made]);
    expect(await createAccessKey(iam(s), 'deployer', clock)).toEqual({ ...CREDS, created: expect.any(Date) });
    expect(clock.slept).toEqual([375, 750, 1500]); // 250 × 2^n × (0.5 + 0.5/2)

    const again = scripted([1, 2, 3, 4].map(() => awsFailure('Throttling')));
    await expect(createAccessKey(iam(again), 'deployer', fakeClock())).rejects.toThrow(
      /^iam:CreateAccessKey on IAM user deployer failed: Throttling: .*AWS kept throttling after retries/,
    );
    expect(again.commands()).toHaveLength(4);
  });

  it('never tries again after any other failure: a key may exist', async () => {
    for (const name of ['ServiceFailure', 'ThrottlingOther', 'NoSuchEntity']) {
      const s = scripted([awsFailure(name, 500), made]);
      await expect(createAccessKey(iam(s), 'deployer', fakeClock())).rejects.toThrow(new RegExp(`failed: ${name}`));
      expect(s.commands()).toEqual(['CreateAccessKey']);
    }
  });

  it.each(['LimitExceeded', 'LimitExceededException'])('%s: the user has two keys, so someone made one since the run listed them', async (name) => {
    const s = scripted([awsFailure(name, 409)]);
    const err = await createAccessKey(iam(s), 'deployer', fakeClock()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyQuotaReached);
    expect((err as Error).message).toBe(
      'iam:CreateAccessKey on IAM user deployer failed: LimitExceeded: the user already has two access keys, so a key ' +
        'was made after this run listed them: another rotation or a person is at work',
    );
  });

  it.each([{}, { AccessKey: { AccessKeyId: 'AKIANEW' } }, { AccessKey: { SecretAccessKey: 's' } }])(
    'an answer without a whole pair is an error, not a key: %p',
    async (answer) => {
      await expect(createAccessKey(iam(scripted([answer])), 'deployer', fakeClock())).rejects.toThrow(
        'iam:CreateAccessKey on IAM user deployer returned no key',
      );
    },
  );
});

describe('createUser', () => {
  const settings = (over: object = {}) => ({
    path: '/ci/',
    groups: ['deployers', 'ops'],
    policyArns: ['arn:aws:iam::aws:policy/A', 'arn:aws:iam::aws:policy/B'],
    permissionsBoundary: 'arn:aws:iam::1:policy/boundary',
    tags: [{ Key: 'team', Value: 'platform' }],
    ...over,
  });

  it('creates the user with its settings, then groups, then policies', async () => {
    const s = scripted([]);
    expect(await createUser(iam(s), 'svc', settings())).toEqual({
      name: 'svc',
      groups: ['deployers', 'ops'],
      policyArns: ['arn:aws:iam::aws:policy/A', 'arn:aws:iam::aws:policy/B'],
    });
    expect(s.calls).toEqual([
      {
        command: 'CreateUser',
        input: { UserName: 'svc', Path: '/ci/', PermissionsBoundary: 'arn:aws:iam::1:policy/boundary', Tags: [{ Key: 'team', Value: 'platform' }] },
      },
      { command: 'AddUserToGroup', input: { UserName: 'svc', GroupName: 'deployers' } },
      { command: 'AddUserToGroup', input: { UserName: 'svc', GroupName: 'ops' } },
      { command: 'AttachUserPolicy', input: { UserName: 'svc', PolicyArn: 'arn:aws:iam::aws:policy/A' } },
      { command: 'AttachUserPolicy', input: { UserName: 'svc', PolicyArn: 'arn:aws:iam::aws:policy/B' } },
    ]);
  });

  it('sends no Tags without tags (IAM refuses an empty list)', async () => {
    const s = scripted([]);
    await createUser(iam(s), 'svc', settings({ tags: [], groups: [], policyArns: [] }));
    expect(s.calls[0].input.Tags).toBeUndefined();
    expect(s.commands()).toEqual(['CreateUser']);
  });

  it('a step that fails part-way: what was done is undone in reverse, and the error says IAM is as before', async () => {
    const s = scripted([{}, {}, {}, {}, awsFailure('NoSuchEntity', 404)]);
    await expect(createUser(iam(s), 'svc', settings())).rejects.toThrow(
      /^creating IAM user svc: iam:AttachUserPolicy on policy arn:aws:iam::aws:policy\/B failed: NoSuchEntity: .*\. The created user svc was deleted again: IAM is as before\.$/,
    );
    expect(s.calls.slice(5)).toEqual([
      { command: 'DetachUserPolicy', input: { UserName: 'svc', PolicyArn: 'arn:aws:iam::aws:policy/A' } },
      { command: 'RemoveUserFromGroup', input: { UserName: 'svc', GroupName: 'deployers' } },
      { command: 'RemoveUserFromGroup', input: { UserName: 'svc', GroupName: 'ops' } },
      { command: 'DeleteUser', input: { UserName: 'svc' } },
    ]);
  });

  it('a CreateUser that fails leaves nothing to undo', async () => {
    const s = scripted([awsFailure('EntityAlreadyExists', 409)]);
    await expect(createUser(iam(s), 'svc', settings())).rejects.toThrow(/^iam:CreateUser on IAM user svc failed: EntityAlreadyExists/);
    expect(s.commands()).toEqual(['CreateUser']);
  });
});

describe('deleteCreatedUser', () => {
  it('says exactly what is left when the undo fails', async () => {
    const s = scripted([{}, awsFailure('AccessDenied', 403)]);
    expect(await deleteCreatedUser(iam(s), { name: 'svc', groups: ['deployers', 'ops'], policyArns: ['arn:p'] })).toMatchObject({ deleted: false, sentence: expect.stringMatching(
      /^IAM user svc exists \(created by this run, in groups deployers, ops, with policies arn:p\) and could not be deleted \(iam:RemoveUserFromGroup on group deployers failed: AccessDenied.*\): delete it by hand or rerun; a rerun will not change its settings\.$/) });
    const bare = scripted([awsFailure('AccessDenied', 403)]);
    expect(await deleteCreatedUser(iam(bare), { name: 'svc', groups: [], policyArns: [] })).toMatchObject({ deleted: false, sentence: expect.stringMatching(
      /^IAM user svc exists \(created by this run\) and could not be deleted \(iam:DeleteUser on IAM user svc failed: AccessDenied/) });
    const groupsOnly = scripted([awsFailure('AccessDenied', 403)]);
    expect(await deleteCreatedUser(iam(groupsOnly), { name: 'svc', groups: ['g'], policyArns: [] })).toMatchObject({ deleted: false, sentence: expect.stringMatching(
      /^IAM user svc exists \(created by this run, in groups g\) and could not/) });
  });
  it('says the user is gone when the undo succeeds (the journal records it from this flag, not from the sentence)', async () => {
    const s = scripted([{}, {}, {}]);
    expect(await deleteCreatedUser(iam(s), { name: 'svc', groups: ['g'], policyArns: ['arn:p'] })).toEqual({
      deleted: true,
      sentence: 'The created user svc was deleted again: IAM is as before.',
    });
  });
});

describe('verifyKey', () => {
  const me = { Arn: 'arn:aws:iam::123456789012:user/ci/deployer' };
  const notYet = () => awsFailure('InvalidClientTokenId', 403);

  function verify(answers: Answer[], opts: { timeoutMs?: number; checkpoint?: () => void } = {}) {
    const s = scripted(answers);
    const clock = fakeClock();
    const retries: string[] = [];
    const used: (typeof CREDS)[] = [];
    const run = verifyKey(
      (c) => (used.push(c), s.client as unknown as STSClient),
      CREDS,
      'deployer',
      { timeoutMs: opts.timeoutMs ?? 30_000, clock, onRetry: (n, why) => void retries.push(`${n}: ${why}`), checkpoint: opts.checkpoint },
    );
    return { run, s, clock, retries, used };
  }

  it('signs with the new key and returns the attempt that worked', async () => {
    const v = verify([me]);
    expect(await v.run).toBe(1);
    expect(v.used).toEqual([CREDS]);
    expect(v.s.commands()).toEqual(['GetCallerIdentity']);
  });

  it('waits while the key has not propagated: 250 ms growing ×1.5 to at most 750 ms, jittered', async () => {
    const v = verify([notYet(), notYet(), notYet(), notYet(), notYet(), me]);
    expect(await v.run).toBe(6);
    expect(v.clock.slept).toEqual([188, 281, 422, 563, 563]); // × 0.75 jitter
    expect(v.retries[0]).toBe('1: InvalidClientTokenId: InvalidClientTokenId for this request');
    expect(v.retries).toHaveLength(5);
  });

  it.each([
    ['SignatureDoesNotMatch', 403],
    ['UnrecognizedClientException', 400],
    ['ThrottlingException', 400],
    ['RequestTimeout', 408],
    ['ServiceUnavailable', 503],
    ['InternalFailure', 500],
    ['SomethingElse', 502],
  ])('tries again after %s', async (name, status) => {
    const v = verify([awsFailure(name, status), me]);
    expect(await v.run).toBe(2);
  });

  it('stops at once on an answer that will not change', async () => {
    const v = verify([awsFailure('AccessDenied', 403), me]);
    await expect(v.run).rejects.toThrow(/^sts:GetCallerIdentity \(with the new key\) on IAM user deployer failed: AccessDenied/);
    expect(v.s.commands()).toHaveLength(1);
  });

  it('refuses a key that authenticates as someone else', async () => {
    const v = verify([{ Arn: 'arn:aws:iam::123456789012:user/other-deployer' }]);
    await expect(v.run).rejects.toThrow(
      'the new access key AKIANEW authenticates as arn:aws:iam::123456789012:user/other-deployer, not IAM user deployer',
    );
    await expect(verify([{}]).run).rejects.toThrow('authenticates as , not IAM user deployer');
  });

  it('gives up before a wait would pass the deadline, naming the last answer', async () => {
    const v = verify([notYet(), notYet(), notYet(), notYet(), me], { timeoutMs: 1_000 });
    await expect(v.run).rejects.toThrow(
      'the new access key AKIANEW of IAM user deployer did not authenticate within 1 s (last answer: InvalidClientTokenId: ' +
        'InvalidClientTokenId for this request): raise verify-timeout-seconds (IAM usually needs 5-15 s), or check that ' +
        'STS is reachable in aws-region',
    );
    // 188 + 281 + 422 = 891 ms waited; the next wait (563 ms) would end past 1 000 ms.
    expect(v.clock.slept).toEqual([188, 281, 422]);
    expect(v.s.commands()).toHaveLength(4);
  });

  it('a wait that ends exactly at the deadline is still waited', async () => {
    const v = verify([notYet(), me], { timeoutMs: 188 });
    expect(await v.run).toBe(2);
  });

  it('checks before every attempt whether to stop', async () => {
    let n = 0;
    const v = verify([notYet(), notYet(), me], {
      checkpoint: () => {
        if (++n === 2) throw new ActionError('the run was cancelled (SIGINT)');
      },
    });
    await expect(v.run).rejects.toThrow('the run was cancelled (SIGINT)');
    expect(v.s.commands()).toHaveLength(1);
  });
});

describe('awsErrorName and isAccessDenied', () => {
  it("name an AWS error by its name, anything else 'Error'", () => {
    expect(awsErrorName(awsFailure('NoSuchEntity'))).toBe('NoSuchEntity');
    for (const other of [null, undefined, 'text', 42, {}]) expect(awsErrorName(other)).toBe('Error');
  });

  it('see through the ActionError that wraps an AWS answer', () => {
    for (const name of ['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']) {
      expect(isAccessDenied(awsFailure(name, 403))).toBe(true);
      expect(isAccessDenied(new ActionError('wrapped', { cause: awsFailure(name, 403) }))).toBe(true);
    }
    expect(isAccessDenied(awsFailure('AccessDeniedSoon', 403))).toBe(false);
    expect(isAccessDenied(new ActionError('no cause'))).toBe(false);
    expect(isAccessDenied(new ActionError('wrapped', { cause: awsFailure('NoSuchEntity', 404) }))).toBe(false);
    expect(isAccessDenied(null)).toBe(false);
  });
});

describe('getUser, userSettings and listAccessKeys read what IAM answers', () => {
  it('getUser: the user, or undefined when IAM says it does not exist; any other failure is thrown', async () => {
    const user = { UserName: 'svc', Path: '/ci/' };
    expect(await getUser(iam(scripted([{ User: user }])), 'svc')).toEqual(user);
    for (const name of ['NoSuchEntity', 'NoSuchEntityException']) {
      expect(await getUser(iam(scripted([awsFailure(name, 404)])), 'svc')).toBeUndefined();
    }
    await expect(getUser(iam(scripted([awsFailure('AccessDenied', 403)])), 'svc')).rejects.toThrow(/^iam:GetUser on IAM user svc failed: AccessDenied/);
  });

  it('userSettings: path, groups, policies, boundary and tags, with IAM\'s defaults for what is missing', async () => {
    const s = scripted([{ Groups: [{ GroupName: 'deployers' }, {}] }, { AttachedPolicies: [{ PolicyArn: 'arn:p' }, {}] }]);
    expect(
      await userSettings(iam(s), {
        UserName: 'svc',
        Path: '/ci/',
        PermissionsBoundary: { PermissionsBoundaryArn: 'arn:b', PermissionsBoundaryType: 'Policy' },
        Tags: [{ Key: 'team', Value: 'platform' }, { Key: 'k' } as never],
      } as never),
    ).toEqual({
      path: '/ci/',
      groups: ['deployers', ''],
      policyArns: ['arn:p', ''],
      permissionsBoundary: 'arn:b',
      tags: [
        { Key: 'team', Value: 'platform' },
        { Key: 'k', Value: '' },
      ],
    });
    expect(s.calls.map((c) => c.input)).toEqual([{ UserName: 'svc' }, { UserName: 'svc' }]);
    expect(await userSettings(iam(scripted([{}, {}])), {} as never)).toEqual({ path: '/', groups: [], policyArns: [], permissionsBoundary: undefined, tags: [] });
  });

  it('listAccessKeys: ids, statuses and creation dates, whatever form the date comes in', async () => {
    const keys = await listAccessKeys(
      iam(
        scripted([
          {
            AccessKeyMetadata: [
              { AccessKeyId: 'AKIAA', Status: 'Active', CreateDate: new Date('2026-01-01T00:00:00Z') },
              { AccessKeyId: 'AKIAB', Status: 'Inactive', CreateDate: '2025-01-01T00:00:00Z' },
              {},
            ],
          },
        ]),
      ),
      'svc',
    );
    expect(keys).toEqual([
      { id: 'AKIAA', status: 'Active', created: new Date('2026-01-01T00:00:00Z') },
      { id: 'AKIAB', status: 'Inactive', created: new Date('2025-01-01T00:00:00Z') },
      { id: '', status: 'Inactive', created: new Date(0) },
    ]);
    expect(await listAccessKeys(iam(scripted([{}])), 'svc')).toEqual([]);
  });

  it('the caller: an IAM user by name (paths allowed), anything else without one', async () => {
    const { callerIdentity } = await import('../src/aws/aws.js');
    const sts = (answer: unknown) => scripted([answer]).client as unknown as STSClient;
    expect(await callerIdentity(sts({ Arn: 'arn:aws:iam::123456789012:user/ci/deployers/svc', Account: '123456789012' }))).toEqual({
      arn: 'arn:aws:iam::123456789012:user/ci/deployers/svc',
      account: '123456789012',
      userName: 'svc',
    });
    expect(await callerIdentity(sts({ Arn: 'arn:aws-cn:iam::123456789012:user/svc', Account: '1' }))).toMatchObject({ userName: 'svc' });
    expect(await callerIdentity(sts({ Arn: 'arn:aws:sts::123456789012:assumed-role/r/s', Account: '1' }))).toMatchObject({ userName: undefined });
    expect(await callerIdentity(sts({}))).toEqual({ arn: '', account: '', userName: undefined });
  });
});
