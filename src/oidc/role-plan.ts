/**
 * The plan to replace an IAM user's key with a role: its trust policy, the policies to attach, the workflow change
 * and what to do with the key. Pure: a function of what IAM and GitHub said.
 */
import { label } from '../github/destinations.js';
import type { OidcTarget } from './github-read.js';
import type { UserKey, UserPermissions, Unreadable } from './iam-read.js';
import { type Subject, subjectFor } from './subject.js';
import { type PolicyDocument, trustPolicy } from './trust.js';

/** The configure-aws-credentials pin the README and examples use. */
export const CONFIGURE_AWS_CREDENTIALS = 'aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c # v6.2.3';

/** IAM's default quota for a role trust policy, in characters (raisable through Service Quotas). */
export const TRUST_POLICY_QUOTA = 2048;

export type NoteCode =
  | 'repository-id-not-a-condition-key'
  | 'customization-unreadable'
  | 'claims-unknown'
  | 'immutable-subject-off'
  | 'dependabot'
  | 'repository-unreadable'
  | 'organization-repositories'
  | 'organization-unreadable'
  | 'trust-policy-size'
  | 'no-subjects'
  | 'aws-username'
  | 'unreadable';

export interface Note {
  code: NoteCode;
  text: string;
}

export interface PlannedSubject {
  sub: string;
  /** The destination label this job reads the secrets from. */
  destination: string;
  repository: string;
  environment?: string;
}

/** One permissions policy file: an inline policy to put on the role, or a managed one to attach by ARN. */
export interface PlannedPolicy {
  file: string;
  kind: 'inline' | 'managed';
  /** Where the user has it today: 'user', or 'group NAME'. */
  from: string;
  name: string;
  arn?: string;
  document?: unknown;
  unreadable?: Unreadable;
}

export interface OidcPlan {
  userName: string;
  userArn: string;
  roleName: string;
  roleArn: string;
  rolePath: string;
  issuer: string;
  providerArn: string;
  boundary: string | undefined;
  subjects: PlannedSubject[];
  trust: PolicyDocument | undefined;
  policies: PlannedPolicy[];
  notes: Note[];
  keys: UserKey[];
  region: string;
}

/** A file name from a policy name: IAM names allow `+=,.@-_`; keep letters, digits, `._-`. */
const fileSafe = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_');

/** The role's name: the user's, with -oidc (IAM allows 64 characters). */
export const roleNameFor = (user: string): string => `${user.slice(0, 59)}-oidc`;

function needs(u: Unreadable): string {
  return `${u.action} on ${u.resource}`;
}

export function buildPlan(perms: UserPermissions, targets: OidcTarget[], issuer: string, region: string): OidcPlan {
  const notes: Note[] = [];
  const subjects: PlannedSubject[] = [];
  let immutableOff = false;
  for (const t of targets) {
    for (const n of t.notes) notes.push(n);
    for (const j of t.jobs) {
      const repository = `${j.repo.owner}/${j.repo.repo}`;
      const environment = j.job.kind === 'environment' ? j.job.name : undefined;
      if (!j.customization.readable) {
        notes.push({
          code: 'customization-unreadable',
          text:
            `the OIDC subject customization of ${repository} could not be read (${j.customization.status ?? 'no answer'}; ` +
            `it needs the token's repository permission 'Actions: read'): its subject is GitHub's default form; check ` +
            `it against the repository's settings`,
        });
      } else if (!j.customization.immutable) immutableOff = true;
      const s: Subject = subjectFor(j.repo, j.customization, j.job);
      if (!s.ok) {
        notes.push({
          code: 'claims-unknown',
          text:
            `${repository}'s subject customization includes claim(s) ${s.claims.join(', ')}, whose values depend on ` +
            `the workflow run: it has no subject in the trust policy; add its exact subject by hand (never a wildcard)`,
        });
        continue;
      }
      if (!subjects.some((x) => x.sub === s.sub)) subjects.push({ sub: s.sub, destination: label(t.destination), repository, environment });
    }
  }
  notes.push({
    code: 'repository-id-not-a-condition-key',
    text:
      `AWS exposes only some OIDC claims as condition keys (for GitHub: aud and sub, not repository_id), so the ` +
      `repository's id cannot be a second condition; GitHub's immutable subject (repo:OWNER@id/REPO@id:…) binds the ` +
      `ids into sub instead`,
  });
  if (immutableOff) {
    notes.push({
      code: 'immutable-subject-off',
      text:
        `some repositories use name-based subjects: a renamed or deleted repository's name could be taken by another; ` +
        `opt them in to GitHub's immutable subject claims and run the plan again to get the repo:OWNER@id/REPO@id form`,
    });
  }
  const trust = subjects.length > 0 ? trustPolicy(perms.partition, perms.account, issuer, subjects.map((s) => s.sub)) : undefined;
  if (!trust) notes.push({ code: 'no-subjects', text: 'no destination gave an exact subject, so no trust policy was written' });
  else if (JSON.stringify(trust).length > TRUST_POLICY_QUOTA) {
    notes.push({
      code: 'trust-policy-size',
      text: `the trust policy has ${JSON.stringify(trust).length} characters, more than IAM's default quota of ${TRUST_POLICY_QUOTA}: raise the role trust policy length quota, or split the repositories over several roles`,
    });
  }

  const policies: PlannedPolicy[] = [];
  const seenArns = new Set<string>();
  const addManaged = (from: string, p: { name: string; arn: string; document?: unknown; unreadable?: Unreadable }) => {
    if (seenArns.has(p.arn)) return;
    seenArns.add(p.arn);
    policies.push({ file: `managed-${fileSafe(p.name)}.json`, kind: 'managed', from, name: p.name, arn: p.arn, document: p.document, unreadable: p.unreadable });
  };
  for (const p of perms.inline) policies.push({ file: `inline-user-${fileSafe(p.name)}.json`, kind: 'inline', from: 'user', ...p });
  for (const p of perms.attached) addManaged('user', p);
  for (const g of perms.groups) {
    for (const p of g.inline) policies.push({ file: `inline-group-${fileSafe(g.name)}-${fileSafe(p.name)}.json`, kind: 'inline', from: `group ${g.name}`, ...p });
    for (const p of g.attached) addManaged(`group ${g.name}`, p);
  }
  const unreadable = [...perms.unreadable, ...perms.groups.flatMap((g) => g.unreadable), ...policies.flatMap((p) => (p.unreadable ? [p.unreadable] : []))];
  for (const u of unreadable) {
    notes.push({ code: 'unreadable', text: `IAM refused ${u.action} on ${u.resource}: grant ${needs(u)} (policies/oidc-plan.json does) and run the plan again` });
  }
  const withUsername = policies.filter((p) => JSON.stringify(p.document ?? '').includes('${aws:username}'));
  if (withUsername.length > 0) {
    notes.push({
      code: 'aws-username',
      text: `${withUsername.map((p) => p.file).join(', ')} use \${aws:username}, which a role session does not have: name the resources instead`,
    });
  }

  const roleName = roleNameFor(perms.name);
  return {
    userName: perms.name,
    userArn: perms.arn,
    roleName,
    rolePath: perms.path,
    roleArn: `arn:${perms.partition}:iam::${perms.account}:role${perms.path}${roleName}`,
    issuer,
    providerArn: `arn:${perms.partition}:iam::${perms.account}:oidc-provider/${issuer}`,
    boundary: perms.boundary,
    subjects,
    trust,
    policies,
    notes,
    keys: perms.keys,
    region,
  };
}
