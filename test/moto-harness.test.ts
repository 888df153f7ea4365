/**
 * Pins down the moto_server behaviour that the rotation code and its
 * integration tests rely on. If moto changes, these fail.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUserTagsCommand,
  ListUsersCommand,
  PutUserPolicyCommand,
  TagUserCommand,
  UntagUserCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  MOTO_ACCOUNT_ID,
  authenticates,
  createUserWithKey,
  iamClient,
  requireMoto,
  seedAdmin,
  setNoAuthCount,
  startMoto,
  stsClient,
  type Creds,
  type Moto,
} from './support/moto.js';

requireMoto(); // no moto_server => this file fails, loudly

/** Run `p`, expect it to reject; return the SDK error. */
async function failure(p: Promise<unknown>): Promise<Error & { $metadata: { httpStatusCode?: number; attempts?: number }; Code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as never;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

let moto: Moto;
let admin: Creds;

beforeAll(async () => {
  moto = await startMoto();
  admin = await seedAdmin(moto);
});
afterAll(async () => {
  await moto?.stop();
});

describe('authentication', () => {
  const bogus: Creds = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY' };

  it('after seeding, an unknown key is rejected with InvalidClientTokenId 403 (IAM and STS)', async () => {
    const e1 = await failure(iamClient(moto, bogus).send(new ListUsersCommand({})));
    expect([e1.name, e1.$metadata.httpStatusCode]).toEqual(['InvalidClientTokenId', 403]);
    expect(e1.message).toBe('The security token included in the request is invalid.');
    const e2 = await failure(stsClient(moto, bogus).send(new GetCallerIdentityCommand({})));
    expect([e2.name, e2.$metadata.httpStatusCode]).toEqual(['InvalidClientTokenId', 403]);
    expect(await authenticates(moto, bogus)).toBe(false);
  });

  it('a wrong secret is rejected with SignatureDoesNotMatch 403 (IAM and STS)', async () => {
    const wrong = { ...admin, secretAccessKey: admin.secretAccessKey.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) };
    const e1 = await failure(iamClient(moto, wrong).send(new ListUsersCommand({})));
    expect([e1.name, e1.$metadata.httpStatusCode]).toEqual(['SignatureDoesNotMatch', 403]);
    const e2 = await failure(stsClient(moto, wrong).send(new GetCallerIdentityCommand({})));
    expect([e2.name, e2.$metadata.httpStatusCode]).toEqual(['SignatureDoesNotMatch', 403]);
  });

  it('an unsigned request gets a bare HTTP 500 (moto crashes on the missing Authorization header)', async () => {
    const res = await fetch(moto.endpoint + '/', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=ListUsers&Version=2010-05-08',
    });
    await res.text();
    expect(res.status).toBe(500);
  });

  it('the seeded admin is a real, signed identity', async () => {
    const id = await stsClient(moto, admin).send(new GetCallerIdentityCommand({}));
    expect(id.Arn).toBe(`arn:aws:iam::${MOTO_ACCOUNT_ID}:user/admin`);
    expect(id.Account).toBe(MOTO_ACCOUNT_ID);
  });

  it('INITIAL_NO_AUTH_ACTION_COUNT counts requests globally, across services', async () => {
    await setNoAuthCount(moto, 2);
    try {
      await iamClient(moto, bogus).send(new ListUsersCommand({})); // 1st: free
      const who = await stsClient(moto, bogus).send(new GetCallerIdentityCommand({})); // 2nd: free (STS)
      expect(who.Arn).toBe(`arn:aws:sts::${MOTO_ACCOUNT_ID}:user/moto`); // moto's placeholder identity
      const e = await failure(iamClient(moto, bogus).send(new ListUsersCommand({}))); // 3rd: enforced
      expect(e.name).toBe('InvalidClientTokenId');
    } finally {
      await setNoAuthCount(moto, 0);
    }
  });
});

describe('access key lifecycle', () => {
  it('a new key works immediately; a deleted key stops at once; an Inactive key STILL authenticates in moto', async () => {
    const old = await createUserWithKey(moto, admin, 'lifecycle');
    const iam = iamClient(moto, old);
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({}));
    const fresh = { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! };
    expect(await authenticates(moto, fresh)).toBe(true); // no propagation delay

    await iamClient(moto, fresh).send(new UpdateAccessKeyCommand({ AccessKeyId: old.accessKeyId, Status: 'Inactive' }));
    // moto deviation: real AWS rejects an Inactive key with InvalidClientTokenId
    expect(await authenticates(moto, old)).toBe(true);
    await expect(iam.send(new ListAccessKeysCommand({}))).resolves.toBeDefined();

    await iamClient(moto, fresh).send(new DeleteAccessKeyCommand({ AccessKeyId: old.accessKeyId }));
    expect(await authenticates(moto, old)).toBe(false);
    const e = await failure(iam.send(new ListAccessKeysCommand({})));
    expect([e.name, e.$metadata.httpStatusCode]).toEqual(['InvalidClientTokenId', 403]);
    expect(await authenticates(moto, fresh)).toBe(true);
  });

  it('ListAccessKeys: creation order, Date CreateDate, Status; 3rd key => LimitExceededException 409', async () => {
    const first = await createUserWithKey(moto, admin, 'limited');
    const iam = iamClient(moto, first);
    const { AccessKey: second } = await iam.send(new CreateAccessKeyCommand({}));
    const { AccessKeyMetadata: keys } = await iam.send(new ListAccessKeysCommand({}));
    expect(keys!.map((k) => k.AccessKeyId)).toEqual([first.accessKeyId, second!.AccessKeyId]);
    expect(keys!.every((k) => k.CreateDate instanceof Date && k.Status === 'Active' && k.UserName === 'limited')).toBe(true);

    const e = await failure(iam.send(new CreateAccessKeyCommand({})));
    expect([e.name, e.Code, e.$metadata.httpStatusCode, e.$metadata.attempts]).toEqual([
      'LimitExceededException',
      'LimitExceeded',
      409,
      1,
    ]);
    expect(e.message).toBe('Cannot exceed quota for AccessKeysPerUser: 2');
  });

  it('moto deviation: CreateDate keeps milliseconds (real IAM and GitHub updated_at have whole seconds)', async () => {
    // Secrets seeded in the same second as the key read as written before it (a stale destination): tests that need
    // a skip seed them in a later second.
    const first = await createUserWithKey(moto, admin, 'precise');
    const { AccessKey: second } = await iamClient(moto, admin).send(new CreateAccessKeyCommand({ UserName: 'precise' }));
    const { AccessKeyMetadata: keys } = await iamClient(moto, admin).send(new ListAccessKeysCommand({ UserName: 'precise' }));
    expect(keys!.map((k) => k.AccessKeyId)).toEqual([first.accessKeyId, second!.AccessKeyId]);
    expect(keys![1].CreateDate!.getTime()).toBe(second!.CreateDate!.getTime());
    expect(keys!.some((k) => k.CreateDate!.getTime() % 1000 !== 0)).toBe(true);
  });

  it('the SDK default retry strategy treats LimitExceededException as throttling and retries it (3 attempts)', async () => {
    const creds = await createUserWithKey(moto, admin, 'retried');
    await iamClient(moto, creds).send(new CreateAccessKeyCommand({}));
    const defaults = new IAMClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: creds });
    const e = await failure(defaults.send(new CreateAccessKeyCommand({})));
    expect(e.name).toBe('LimitExceededException');
    expect(e.$metadata.attempts).toBe(3);
  });
});

describe('identity', () => {
  it('GetCallerIdentity of a user with a Path includes the path in the ARN', async () => {
    const creds = await createUserWithKey(moto, admin, 'deployer', { path: '/ci/deployers/' });
    const id = await stsClient(moto, creds).send(new GetCallerIdentityCommand({}));
    const { User } = await iamClient(moto, creds).send(new GetUserCommand({}));
    expect(id.Arn).toBe(`arn:aws:iam::${MOTO_ACCOUNT_ID}:user/ci/deployers/deployer`);
    expect(id.Account).toBe(MOTO_ACCOUNT_ID);
    expect(id.UserId).toBe(User!.UserId); // the user's unique id, not the key id
    expect(User).toMatchObject({ UserName: 'deployer', Path: '/ci/deployers/', Arn: id.Arn });
  });

  it('missing users => NoSuchEntityException 404', async () => {
    const iam = iamClient(moto, admin);
    const e1 = await failure(iam.send(new GetUserCommand({ UserName: 'nobody' })));
    expect([e1.name, e1.$metadata.httpStatusCode, e1.message]).toEqual([
      'NoSuchEntityException',
      404,
      'The user with name nobody cannot be found.',
    ]);
    const e2 = await failure(iam.send(new ListAccessKeysCommand({ UserName: 'nobody' })));
    expect(e2.name).toBe('NoSuchEntityException');
  });
});

describe('policy evaluation', () => {
  it('a user with no policy can only call sts:GetCallerIdentity', async () => {
    const bare = await createUserWithKey(moto, admin, 'bare', { policy: null });
    expect(await authenticates(moto, bare)).toBe(true);
    const e = await failure(iamClient(moto, bare).send(new ListAccessKeysCommand({})));
    expect([e.name, e.$metadata.httpStatusCode, e.message]).toEqual([
      'AccessDenied',
      403,
      `User: arn:aws:iam::${MOTO_ACCOUNT_ID}:user/bare is not authorized to perform: iam:ListAccessKeys`,
    ]);
  });

  it('the self-rotation policy allows key management but not CreateUser; explicit Deny wins', async () => {
    const me = await createUserWithKey(moto, admin, 'rotator');
    const iam = iamClient(moto, me);
    await expect(iam.send(new GetUserCommand({}))).resolves.toBeDefined();
    const e = await failure(iam.send(new CreateUserCommand({ UserName: 'intruder' })));
    expect([e.name, e.message]).toEqual([
      'AccessDenied',
      `User: arn:aws:iam::${MOTO_ACCOUNT_ID}:user/rotator is not authorized to perform: iam:CreateUser`,
    ]);

    await iamClient(moto, admin).send(
      new PutUserPolicyCommand({
        UserName: 'rotator',
        PolicyName: 'deny-delete',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Deny', Action: 'iam:DeleteAccessKey', Resource: '*' }],
        }),
      }),
    );
    const d = await failure(iam.send(new DeleteAccessKeyCommand({ AccessKeyId: me.accessKeyId })));
    expect(d.name).toBe('AccessDenied');
    expect(d.message).toContain('iam:DeleteAccessKey');
  });

  it('the self-rotation policy allows the lease (user tags on itself); without it TagUser is AccessDenied', async () => {
    const me = await createUserWithKey(moto, admin, 'leaser');
    const iam = iamClient(moto, me);
    await iam.send(new TagUserCommand({ UserName: 'leaser', Tags: [{ Key: 'rotate-aws-access-key:lease', Value: 'run x until y' }] }));
    const { Tags } = await iam.send(new ListUserTagsCommand({ UserName: 'leaser' }));
    expect(Tags).toEqual([{ Key: 'rotate-aws-access-key:lease', Value: 'run x until y' }]);
    await iam.send(new UntagUserCommand({ UserName: 'leaser', TagKeys: ['rotate-aws-access-key:lease'] }));
    expect((await iam.send(new ListUserTagsCommand({ UserName: 'leaser' }))).Tags).toEqual([]);

    const keysOnly = await createUserWithKey(moto, admin, 'keysonly', {
      policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'iam:*AccessKey*', Resource: '*' }] },
    });
    const e = await failure(iamClient(moto, keysOnly).send(new ListUserTagsCommand({ UserName: 'keysonly' })));
    expect([e.name, e.$metadata.httpStatusCode]).toEqual(['AccessDenied', 403]);
  });

  it('moto ignores Resource ARNs for IAM: a policy scoped to the user (or ${aws:username}) grants nothing', async () => {
    for (const [name, resource] of [
      ['scoped', `arn:aws:iam::${MOTO_ACCOUNT_ID}:user/scoped`],
      ['scopedvar', `arn:aws:iam::${MOTO_ACCOUNT_ID}:user/\${aws:username}`],
    ] as const) {
      const creds = await createUserWithKey(moto, admin, name, {
        policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'iam:*AccessKey*', Resource: resource }] },
      });
      const e = await failure(iamClient(moto, creds).send(new ListAccessKeysCommand({})));
      expect(e.name).toBe('AccessDenied');
    }
  });

  it('AWS managed policies do not exist unless requested', async () => {
    const e = await failure(
      iamClient(moto, admin).send(
        new AttachUserPolicyCommand({ UserName: 'admin', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }),
      ),
    );
    expect([e.name, e.$metadata.httpStatusCode]).toEqual(['NoSuchEntityException', 404]);
  });
});

describe('environment', () => {
  it('default clients follow AWS_ENDPOINT_URL + AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY', async () => {
    const saved = { ...process.env };
    try {
      process.env.AWS_ENDPOINT_URL = moto.endpoint;
      process.env.AWS_ACCESS_KEY_ID = admin.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = admin.secretAccessKey;
      delete process.env.AWS_SESSION_TOKEN;
      delete process.env.AWS_PROFILE;
      const iam = new IAMClient({ region: 'us-east-1' });
      const sts = new STSClient({ region: 'us-east-1' });
      expect(await iam.config.credentials()).toMatchObject(admin);
      expect((await sts.send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:iam::${MOTO_ACCOUNT_ID}:user/admin`);
      await expect(iam.send(new ListUsersCommand({}))).resolves.toBeDefined();
    } finally {
      process.env = saved;
    }
  });

  it('several servers run side by side, isolated; awsManagedPolicies loads arn:aws:iam::aws:policy/*', async () => {
    const [other, third] = await Promise.all([startMoto({ awsManagedPolicies: true }), startMoto()]);
    try {
      expect(new Set([moto.port, other.port, third.port]).size).toBe(3);
      expect(await authenticates(other, admin)).toBe(false); // keys are per server
      const otherAdmin = await seedAdmin(other);
      await iamClient(other, otherAdmin).send(
        new AttachUserPolicyCommand({ UserName: 'admin', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }),
      );
      expect(await authenticates(third, otherAdmin)).toBe(false);
    } finally {
      await Promise.all([other.stop(), third.stop()]);
    }
    expect(await fetch(other.endpoint + '/moto-api/').then(() => 'up', () => 'down')).toBe('down');
  });
});
