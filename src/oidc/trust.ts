/**
 * The trust policies of the roles that replace a key: GitHub's OIDC provider, per repository its exact subjects
 * and its repository_id, split over several roles where one trust policy would pass IAM's size quota. Pure.
 */

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Record<string, unknown>[];
}

/** The audience configure-aws-credentials asks for. */
export const STS_AUDIENCE = 'sts.amazonaws.com';

/** IAM's default quota for a role trust policy, in characters (4,096 after a Service Quotas increase). */
export const TRUST_POLICY_QUOTA = 2048;

/** The subjects of one repository's jobs, and its id (GitHub's repository_id claim). */
export interface RepositoryTrust {
  repository: string;
  repositoryId: number;
  subs: string[];
}

/**
 * IAM's size of a policy: it does not count white space (outside strings), which JSON.stringify leaves out. White
 * space inside a string (an environment name with a space) is counted: the size errs on the large side.
 */
export const policySize = (doc: unknown): number => JSON.stringify(doc).length;

/**
 * One statement: sts:AssumeRoleWithWebIdentity from the issuer's IAM OIDC provider for tokens whose `aud` is
 * sts.amazonaws.com, whose `sub` is one of this repository's subjects, compared exactly (StringEquals: no wildcard,
 * and no ForAllValues, which a token without the key would satisfy), and whose `repository_id` is this repository's:
 * STS evaluates GitHub's repository_id claim as a condition key (since January 2026), so a repository deleted and
 * recreated under the same name (a new id) is refused whatever form its subject takes.
 */
export function repositoryStatement(providerArn: string, issuer: string, t: RepositoryTrust): Record<string, unknown> {
  return {
    Effect: 'Allow',
    Principal: { Federated: providerArn },
    Action: 'sts:AssumeRoleWithWebIdentity',
    Condition: {
      StringEquals: {
        [`${issuer}:aud`]: STS_AUDIENCE,
        [`${issuer}:sub`]: t.subs.length === 1 ? t.subs[0] : [...t.subs],
        [`${issuer}:repository_id`]: String(t.repositoryId),
      },
    },
  };
}

const policyOf = (statements: Record<string, unknown>[]): PolicyDocument => ({ Version: '2012-10-17', Statement: statements });

/**
 * The repositories' statements packed into as few trust policies as fit `quota` characters each, in order. A
 * repository whose own statement is too large is split into statements of fewer subjects. `undefined` when one
 * subject alone is too large (no policy can hold it).
 */
export function packTrust(providerArn: string, issuer: string, repos: RepositoryTrust[], quota = TRUST_POLICY_QUOTA): RepositoryTrust[][] | undefined {
  const fits = (group: RepositoryTrust[]) => policySize(policyOf(group.map((t) => repositoryStatement(providerArn, issuer, t)))) <= quota;
  // Split each repository into pieces that fit alone.
  const pieces: RepositoryTrust[] = [];
  for (const t of repos) {
    let rest = [...t.subs];
    while (rest.length > 0) {
      let n = rest.length;
      while (n > 0 && !fits([{ ...t, subs: rest.slice(0, n) }])) n--;
      if (n === 0) return undefined;
      pieces.push({ ...t, subs: rest.slice(0, n) });
      rest = rest.slice(n);
    }
  }
  const roles: RepositoryTrust[][] = [];
  for (const p of pieces) {
    const last = roles[roles.length - 1];
    if (last && fits([...last, p])) last.push(p);
    else roles.push([p]);
  }
  return roles;
}

export function trustPolicy(providerArn: string, issuer: string, repos: RepositoryTrust[]): PolicyDocument {
  return policyOf(repos.map((t) => repositoryStatement(providerArn, issuer, t)));
}
