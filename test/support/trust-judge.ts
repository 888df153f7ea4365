/**
 * A trust policy judged offline with @cloud-copilot/iam-simulate for sts:AssumeRoleWithWebIdentity: every job it
 * must admit is allowed, and the tokens it must refuse are denied: a fork, another repository, another owner,
 * another environment, a pull request, a tag, another branch, a wrong and a missing `aud`, the `sub` in other case,
 * a repository recreated under the same name (another repository_id), no repository_id, and another issuer.
 * iam-simulate's data lacks the OIDC condition keys: the simulation runs unchecked.
 */
import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { createValidatedPolicy, validateTrustPolicy } from '@cloud-copilot/iam-policy';

export type Trust = Parameters<typeof createValidatedPolicy>[0];
export const GITHUB_ISSUER = 'token.actions.githubusercontent.com';
export const ACCOUNT = '123456789012';

/** The claims of a token, as STS gives them to the condition keys `ISSUER:claim`. */
export interface Token {
  sub?: string;
  aud?: string;
  repository_id?: string;
}

export function assume(trust: Trust, t: Token, issuer = GITHUB_ISSUER, providerIssuer = issuer): string {
  const contextVariables: Record<string, string> = {};
  for (const [k, v] of Object.entries(t)) if (v !== undefined) contextVariables[`${issuer}:${k}`] = v;
  return runUnsafeSimulation(
    {
      request: {
        principal: `arn:aws:iam::${ACCOUNT}:oidc-provider/${providerIssuer}`,
        action: 'sts:AssumeRoleWithWebIdentity',
        resource: { resource: `arn:aws:iam::${ACCOUNT}:role/x-oidc`, accountId: ACCOUNT },
        contextVariables,
      },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: createValidatedPolicy(trust, validateTrustPolicy, { name: 'trust-policy.json' }),
    },
    {},
  );
}

/** A job the trust policy must admit: its exact subject and its repository's id. */
export interface Admit {
  sub: string;
  repositoryId: number;
}

const CONTEXT = /(ref:refs\/heads\/[^:]+|environment:[^:]+)$/;

/** The tokens that must be refused, derived from one admitted job. */
export function refusals(a: Admit): { what: string; token: Token; issuer?: string }[] {
  const id = String(a.repositoryId);
  const other = String(a.repositoryId + 1_000_000);
  const aud = 'sts.amazonaws.com';
  const out: { what: string; token: Token; issuer?: string }[] = [];
  const repoPart = /^repo:[^:]+/.exec(a.sub)?.[0];
  const rest = repoPart ? a.sub.slice(repoPart.length) : undefined;
  if (repoPart && rest !== undefined) {
    const [owner, name] = repoPart.slice(5).split('/').map((x) => x.replace(/@\d+$/, ''));
    out.push({ what: 'a fork', token: { sub: `repo:forker/${name}${rest}`, aud, repository_id: other } });
    out.push({ what: 'another repository', token: { sub: `repo:${owner}/${name}-other${rest}`, aud, repository_id: other } });
    out.push({ what: 'another owner', token: { sub: `repo:${owner}-other/${name}${rest}`, aud, repository_id: other } });
    if (/[a-z]/.test(repoPart)) {
      out.push({ what: 'the sub in other case', token: { sub: `${repoPart.toUpperCase().replace(/^REPO:/, 'repo:')}${rest}`, aud, repository_id: id } });
    }
  } else if (/[a-z]/.test(a.sub)) {
    out.push({ what: 'the sub in other case', token: { sub: a.sub.toUpperCase(), aud, repository_id: id } });
  }
  const ctx = (c: string) => (CONTEXT.test(a.sub) ? a.sub.replace(CONTEXT, c) : `${a.sub}:${c}`);
  out.push({ what: 'another environment', token: { sub: ctx('environment:another-environment'), aud, repository_id: id } });
  out.push({ what: 'a pull request', token: { sub: ctx('pull_request'), aud, repository_id: id } });
  out.push({ what: 'a tag', token: { sub: ctx('ref:refs/tags/v1.0.0'), aud, repository_id: id } });
  out.push({ what: 'another branch', token: { sub: ctx('ref:refs/heads/feature'), aud, repository_id: id } });
  out.push({ what: 'a wrong aud', token: { sub: a.sub, aud: 'https://github.com/octo', repository_id: id } });
  out.push({ what: 'no aud', token: { sub: a.sub, repository_id: id } });
  out.push({ what: 'a recreated repository of the same name', token: { sub: a.sub, aud, repository_id: other } });
  out.push({ what: 'no repository_id', token: { sub: a.sub, aud } });
  out.push({ what: 'another issuer', token: { sub: a.sub, aud, repository_id: id }, issuer: 'gitlab.com' });
  return out;
}

/**
 * Every admitted job allowed, every refusal denied (unless it is itself an admitted job): the lines that are not
 * so, empty when the policy is exact. The policy also passes iam-policy's trust policy validation.
 */
export function judge(trust: Trust, admitted: Admit[], issuer = GITHUB_ISSUER): string[] {
  const wrong: string[] = validateTrustPolicy(trust).map((e) => `invalid: ${JSON.stringify(e)}`);
  const isAdmitted = (t: Token) => admitted.some((a) => a.sub === t.sub && String(a.repositoryId) === t.repository_id);
  for (const a of admitted) {
    const d = assume(trust, { sub: a.sub, aud: 'sts.amazonaws.com', repository_id: String(a.repositoryId) }, issuer);
    if (d !== 'Allowed') wrong.push(`${a.sub} (${a.repositoryId}): ${d}, should be Allowed`);
    for (const r of refusals(a)) {
      if (isAdmitted(r.token) && !r.issuer) continue;
      const d2 = r.issuer ? assume(trust, r.token, r.issuer, r.issuer) : assume(trust, r.token, issuer);
      if (d2 === 'Allowed') wrong.push(`${r.what} (${JSON.stringify(r.token)}): Allowed, should be denied`);
    }
  }
  if (JSON.stringify(trust).includes('*') || JSON.stringify(trust).includes('ForAllValues')) wrong.push('a wildcard or ForAllValues');
  return wrong;
}
