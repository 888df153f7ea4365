/**
 * The plan to replace an IAM user's key with roles: their trust policies, the policies to attach, the jobs to
 * change (and those that lose access), the session length and what to do with the key. Pure: a function of what
 * IAM and GitHub said.
 */
import { createHash } from 'node:crypto';
import { label } from '../github/destinations.js';
import type { OidcTarget } from './github-read.js';
import type { ProviderState, UserKey, UserPermissions, Unreadable } from './iam-read.js';
import { GITHUB_COM_ISSUER, type Issuer } from './provider.js';
import { subjectFor } from './subject.js';
import { type PolicyDocument, type RepositoryTrust, TRUST_POLICY_QUOTA, packTrust, policySize, trustPolicy } from './trust.js';
import { type JobAccess, type KeyLine, accessOf } from './workflow-jobs.js';
import { type RepoWorkflows, jobKey } from './workflow-read.js';

/** The configure-aws-credentials pin the README and examples use. */
export const CONFIGURE_AWS_CREDENTIALS = 'aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c # v6.2.3';

/** IAM's default quota of managed policies attached to one role (20 after a Service Quotas increase). */
export const MANAGED_POLICIES_PER_ROLE = 10;
/** IAM's limit on the inline policies of one role, together, in characters. */
export const ROLE_INLINE_POLICIES_SIZE = 10_240;
/** A role session's default (configure-aws-credentials' role-duration-seconds) and IAM's bounds for a role. */
export const DEFAULT_SESSION_SECONDS = 3600;
export const MAX_SESSION_SECONDS = 43_200;

export type NoteCode =
  | 'customization-unreadable'
  | 'organization-template-unreadable'
  | 'subject-form-unknown'
  | 'claims-unknown'
  | 'immutable-subject-off'
  | 'dependabot'
  | 'repository-unreadable'
  | 'organization-repositories'
  | 'organization-unreadable'
  | 'organization-secret-unreadable'
  | 'trust-policy-split'
  | 'trust-policy-too-large'
  | 'no-subjects'
  | 'aws-username'
  | 'unreadable'
  | 'inline-unreadable'
  | 'inline-renamed'
  | 'managed-policy-quota'
  | 'inline-size'
  | 'provider-unknown'
  | 'issuer-derived'
  | 'workflows-unread'
  | 'session-unknown'
  | 'session-over-maximum'
  | 'signing-key';

export interface Note {
  code: NoteCode;
  text: string;
}

export interface PlannedSubject {
  sub: string;
  /** The destination label this job reads the secrets from. */
  destination: string;
  repository: string;
  repositoryId: number;
  environment?: string;
  /** The role whose trust policy admits it. */
  role: string;
}

/** One role: its name and ARN, its trust policy and its file, the repositories it admits, its session maximum. */
export interface PlannedRole {
  name: string;
  arn: string;
  trust: PolicyDocument;
  trustFile: string;
  repositories: string[];
  maxSessionSeconds: number;
}

/** One permissions policy: an inline policy to put on each role, or a managed one to attach by ARN. */
export interface PlannedPolicy {
  /** Its document's file; undefined when IAM refused to show the document. */
  file: string | undefined;
  kind: 'inline' | 'managed';
  /** Where the user has it today: 'user', or 'group NAME'. */
  from: string;
  /** Its name where the user has it. */
  name: string;
  /** Inline: its name on the role (unique there). */
  roleName?: string;
  arn?: string;
  document?: unknown;
  unreadable?: Unreadable;
}

/** A job of a destination repository that uses the key, what to change in it, and which of its runs keep access. */
export interface PlannedJob {
  repository: string;
  file: string;
  id: string;
  name: string;
  lines: KeyLine[];
  idTokenWrite: boolean;
  inheritsTo?: string;
  access: JobAccess;
  /** The role its admitted runs assume (undefined: none of its runs is admitted). */
  role?: PlannedRole;
  /** The longest recent successful run, seconds, where read. */
  longestSeconds?: number;
  roleDurationSeconds: number;
}

export interface PlannedKey extends UserKey {
  /** This plan's own requests are signed with this key: its last use may be the plan's. */
  signsThePlan: boolean;
}

export interface OidcPlan {
  userName: string;
  userArn: string;
  /** The first role's name and ARN (the only one unless the trust policy had to be split). */
  roleName: string;
  roleArn: string;
  rolePath: string;
  issuer: string;
  providerArn: string;
  /** The provider's URL, as IAM and CloudFormation take it. */
  providerUrl: string;
  provider: 'exists' | 'missing' | 'unknown';
  boundary: string | undefined;
  subjects: PlannedSubject[];
  roles: PlannedRole[];
  policies: PlannedPolicy[];
  jobs: PlannedJob[];
  notes: Note[];
  keys: PlannedKey[];
  region: string;
  /** The stack name the CloudFormation commands use. */
  stackName: string;
}

/** Everything the plan is a function of. */
export interface PlanFacts {
  perms: UserPermissions;
  targets: OidcTarget[];
  workflows: RepoWorkflows[];
  issuer: Issuer;
  provider: ProviderState;
  region: string;
  /** The access key id this run signs its AWS requests with, when it signs with one. */
  signingKeyId: string | undefined;
}

const hash8 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 8);

/** A file name from a policy name: IAM names allow `+=,.@-_`; keep letters, digits, `._-`. */
const fileSafe = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_');

/**
 * Names unique case-insensitively (IAM compares names so, and so do the file systems of macOS and Windows): the
 * first holder of a name keeps it; a later one gets `-` and 8 hex digits of its identity, so two different
 * policies never share a file or a role policy name.
 */
function uniqueNames(items: { base: string; identity: string }[], max: number, suffix = ''): string[] {
  const taken = new Set<string>();
  return items.map(({ base, identity }) => {
    let name = `${base.slice(0, max - suffix.length)}${suffix}`;
    if (taken.has(name.toLowerCase())) name = `${base.slice(0, max - suffix.length - 9)}-${hash8(identity)}${suffix}`;
    taken.add(name.toLowerCase());
    return name;
  });
}

/** The role's name: the user's, with -oidc (IAM allows 64 characters); the second and later roles -oidc2, -oidc3… */
export const roleNameFor = (user: string, index = 0): string => (index === 0 ? `${user.slice(0, 59)}-oidc` : `${user.slice(0, 57)}-oidc${index + 1}`);

/**
 * The session a role gives a job that ran `longest` seconds: a quarter more, rounded up to 15 minutes, at least the
 * default hour, at most IAM's 12.
 */
export function sessionSecondsFor(longest: number | undefined): number {
  if (longest === undefined) return DEFAULT_SESSION_SECONDS;
  const wanted = Math.ceil((longest * 1.25) / 900) * 900;
  return Math.min(MAX_SESSION_SECONDS, Math.max(DEFAULT_SESSION_SECONDS, wanted));
}

/** A CloudFormation stack name (letters, digits, `-`, starting with a letter) for the user's roles. */
function stackNameFor(user: string): string {
  const name = roleNameFor(user).replace(/[^A-Za-z0-9-]/g, '-');
  return /^[A-Za-z]/.test(name) ? name : `oidc-${name}`;
}

const hours = (s: number): string => (s % 3600 === 0 ? `${s / 3600} h` : `${Math.round(s / 60)} min`);

export function buildPlan(f: PlanFacts): OidcPlan {
  const { perms } = f;
  const notes: Note[] = [];
  const issuer = f.issuer.issuer;
  const providerArn = `arn:${perms.partition}:iam::${perms.account}:oidc-provider/${issuer}`;
  const rolePath = perms.path;
  const roleArn = (name: string) => `arn:${perms.partition}:iam::${perms.account}:role${rolePath}${name}`;

  // ---- subjects, per repository
  type Found = Omit<PlannedSubject, 'role'>;
  const found: Found[] = [];
  let nameForm = false;
  for (const t of f.targets) {
    for (const n of t.notes) notes.push(n);
    for (const j of t.jobs) {
      const repository = `${j.repo.owner}/${j.repo.repo}`;
      const environment = j.job.kind === 'environment' ? j.job.name : undefined;
      if ('readable' in j.org && !j.org.readable) {
        notes.push({
          code: 'subject-form-unknown',
          text:
            `the OIDC subject customization of organization ${j.repo.owner} could not be read (${j.org.status ?? 'no answer'}; ` +
            `it needs the token's organization permission 'Administration: read', classic read:org)`,
        });
      }
      const s = subjectFor(j.repo, j.customization, j.org, j.job);
      if (!j.customization.readable) {
        notes.push({
          code: 'customization-unreadable',
          text:
            `the OIDC subject customization of ${repository} could not be read (${j.customization.status ?? 'no answer'}; ` +
            `it needs the token's repository permission 'Actions: read'): its subject is GitHub's default template` +
            (s.ok && s.form === 'both-forms' ? ', in both spellings (names, and immutable ids); the repository_id condition keeps either to this repository' : ''),
        });
      }
      if (!s.ok) {
        notes.push(
          s.code === 'claims-unknown'
            ? {
                code: 'claims-unknown',
                text:
                  `${repository}'s subject template includes claim(s) ${s.claims.join(', ')}, whose values depend on ` +
                  `the workflow run: it has no subject in the trust policy; add its exact subject by hand (never a wildcard)`,
              }
            : {
                code: 'organization-template-unreadable',
                text:
                  `${repository} uses its organization's subject template, which could not be read (${s.status ?? 'no answer'}): ` +
                  `it has no subject in the trust policy; give the token the organization permission 'Administration: read' ` +
                  `(classic: read:org) and run the plan again`,
              },
        );
        continue;
      }
      if (s.subs.every((x) => x.startsWith(`repo:${j.repo.owner}/`)) && j.customization.readable) nameForm = true;
      for (const sub of s.subs) {
        // One subject per repository: a template without the repository in it gives several repositories one `sub`,
        // which their repository_id conditions keep apart.
        if (!found.some((x) => x.sub === sub && x.repository === repository)) {
          found.push({ sub, destination: label(t.destination), repository, repositoryId: j.repo.repoId, environment });
        }
      }
    }
  }
  if (nameForm) {
    notes.push({
      code: 'immutable-subject-off',
      text:
        'some repositories use name-based subjects; the repository_id condition already refuses a repository recreated ' +
        "under the same name, and GitHub's immutable subject (repo:OWNER@id/REPO@id:…) binds the ids into sub too: opt " +
        'them in and run the plan again',
    });
  }

  // ---- roles: the repositories' statements packed under the trust policy quota
  const byRepo = new Map<string, RepositoryTrust>();
  for (const s of found) {
    const t = byRepo.get(s.repository) ?? { repository: s.repository, repositoryId: s.repositoryId, subs: [] };
    t.subs.push(s.sub);
    byRepo.set(s.repository, t);
  }
  const packed = byRepo.size > 0 ? packTrust(providerArn, issuer, [...byRepo.values()]) : [];
  const roles: PlannedRole[] = [];
  const subjects: PlannedSubject[] = [];
  if (packed === undefined) {
    notes.push({
      code: 'trust-policy-too-large',
      text: `a single subject does not fit a trust policy of ${TRUST_POLICY_QUOTA} characters: no trust policy was written; shorten the environment names or raise the quota`,
    });
  } else {
    packed.forEach((group, i) => {
      const name = roleNameFor(perms.name, i);
      const trust = trustPolicy(providerArn, issuer, group);
      roles.push({ name, arn: roleArn(name), trust, trustFile: i === 0 ? 'trust-policy.json' : `trust-policy-${i + 1}.json`, repositories: [...new Set(group.map((g) => g.repository))], maxSessionSeconds: DEFAULT_SESSION_SECONDS });
      for (const g of group) for (const sub of g.subs) subjects.push({ ...(found.find((x) => x.sub === sub && x.repository === g.repository) as Found), role: name });
    });
    if (roles.length > 1) {
      notes.push({
        code: 'trust-policy-split',
        text:
          `one trust policy for every repository would pass IAM's ${TRUST_POLICY_QUOTA}-character quota, so the plan splits ` +
          `them over ${roles.length} roles with the same permissions (${roles.map((r) => `${r.name}: ${r.repositories.join(', ')}`).join('; ')}); ` +
          'each job assumes its repository\'s role',
      });
    }
  }
  if (roles.length === 0 && packed !== undefined) notes.push({ code: 'no-subjects', text: 'no destination gave an exact subject, so no trust policy was written' });

  // ---- permissions
  type Raw = Omit<PlannedPolicy, 'file' | 'roleName'> & { identity: string };
  const raw: Raw[] = [];
  const seenArns = new Set<string>();
  const addManaged = (from: string, p: { name: string; arn: string; document?: unknown; unreadable?: Unreadable }) => {
    if (seenArns.has(p.arn)) return;
    seenArns.add(p.arn);
    raw.push({ kind: 'managed', from, name: p.name, arn: p.arn, document: p.document, unreadable: p.unreadable, identity: `managed:${p.arn}` });
  };
  for (const p of perms.inline) raw.push({ kind: 'inline', from: 'user', ...p, identity: `user:${p.name}` });
  for (const p of perms.attached) addManaged('user', p);
  for (const g of perms.groups) {
    for (const p of g.inline) raw.push({ kind: 'inline', from: `group ${g.name}`, ...p, identity: `group:${g.name}:${p.name}` });
    for (const p of g.attached) addManaged(`group ${g.name}`, p);
  }
  const fileBase = (p: Raw) =>
    p.kind === 'managed' ? `managed-${fileSafe(p.name)}` : p.from === 'user' ? `inline-user-${fileSafe(p.name)}` : `inline-group-${fileSafe(p.from.slice(6))}-${fileSafe(p.name)}`;
  const files = uniqueNames(raw.map((p) => ({ base: fileBase(p), identity: p.identity })), 120, '.json');
  const inlineRaw = raw.filter((p) => p.kind === 'inline');
  const roleNames = uniqueNames(inlineRaw.map((p) => ({ base: p.name, identity: p.identity })), 128);
  const policies: PlannedPolicy[] = raw.map(({ identity: _identity, ...p }, i) => ({
    ...p,
    file: p.document !== undefined ? files[i] : undefined,
    ...(p.kind === 'inline' ? { roleName: roleNames[inlineRaw.indexOf(raw[i])] } : {}),
  }));
  for (const p of policies) {
    if (p.kind === 'inline' && p.roleName !== p.name) {
      notes.push({ code: 'inline-renamed', text: `inline policy ${p.name} of the ${p.from} is put on the role as ${p.roleName}: another policy the key has is also named ${p.name}` });
    }
    if (p.kind === 'inline' && p.unreadable) {
      notes.push({
        code: 'inline-unreadable',
        text: `inline policy ${p.name} of the ${p.from} could not be read, so the roles do not get it and no command puts it: until it is read, the roles may do less than the key`,
      });
    }
  }
  const unreadable = [...perms.unreadable, ...perms.groups.flatMap((g) => g.unreadable), ...policies.flatMap((p) => (p.unreadable ? [p.unreadable] : []))];
  for (const u of unreadable) {
    notes.push({ code: 'unreadable', text: `IAM refused ${u.action} on ${u.resource}: grant ${u.action} on ${u.resource} (policies/oidc-plan.json does) and run the plan again` });
  }
  const managedCount = policies.filter((p) => p.kind === 'managed').length;
  if (managedCount > MANAGED_POLICIES_PER_ROLE) {
    notes.push({
      code: 'managed-policy-quota',
      text:
        `the key has ${managedCount} managed policies and IAM attaches at most ${MANAGED_POLICIES_PER_ROLE} to a role by default: ` +
        "merge some into one customer managed policy, or raise the quota 'Managed policies per role' (up to 20) before deploying",
    });
  }
  const inlineSize = policies.filter((p) => p.kind === 'inline' && p.document !== undefined).reduce((n, p) => n + policySize(p.document), 0);
  if (inlineSize > ROLE_INLINE_POLICIES_SIZE) {
    notes.push({
      code: 'inline-size',
      text: `the inline policies come to ${inlineSize} characters, more than the ${ROLE_INLINE_POLICIES_SIZE} IAM allows one role: make some of them a customer managed policy`,
    });
  }
  const withUsername = policies.filter((p) => JSON.stringify(p.document ?? '').includes('${aws:username}'));
  if (withUsername.length > 0) {
    notes.push({
      code: 'aws-username',
      text: `${withUsername.map((p) => p.file).join(', ')} use \${aws:username}, which a role session does not have: name the resources instead`,
    });
  }

  // ---- the jobs that use the key, their access and session
  const jobs: PlannedJob[] = [];
  for (const w of f.workflows) {
    for (const u of w.unread) notes.push({ code: 'workflows-unread', text: u });
    const mine = subjects.filter((s) => s.repository.toLowerCase() === w.repository.toLowerCase());
    const repoJob = f.targets.flatMap((t) => t.jobs).find((j) => `${j.repo.owner}/${j.repo.repo}`.toLowerCase() === w.repository.toLowerCase());
    const defaultBranch = repoJob?.repo.defaultBranch ?? 'main';
    const admitted = {
      defaultBranch,
      branch: mine.some((s) => s.environment === undefined),
      environments: mine.flatMap((s) => (s.environment !== undefined ? [s.environment] : [])),
    };
    for (const { job, on } of w.jobs) {
      const access = accessOf(job, on, admitted);
      const env = typeof job.environment === 'string' ? job.environment : undefined;
      const subject = access.keeps.length > 0 ? mine.find((s) => (env === undefined ? s.environment === undefined : s.environment?.toLowerCase() === env.toLowerCase())) : undefined;
      const role = subject ? roles.find((r) => r.name === subject.role) : undefined;
      const longest = w.longest.get(jobKey(job));
      jobs.push({
        repository: w.repository,
        file: job.file,
        id: job.id,
        name: job.name,
        lines: job.lines,
        idTokenWrite: job.idTokenWrite,
        ...(job.inheritsTo ? { inheritsTo: job.inheritsTo } : {}),
        access,
        role,
        ...(longest !== undefined ? { longestSeconds: longest } : {}),
        roleDurationSeconds: sessionSecondsFor(longest),
      });
      if (role) role.maxSessionSeconds = Math.max(role.maxSessionSeconds, sessionSecondsFor(longest));
      if (longest !== undefined && longest * 1.25 > MAX_SESSION_SECONDS) {
        notes.push({
          code: 'session-over-maximum',
          text: `${w.repository} ${job.file} job ${job.id} ran ${hours(longest)}: a role session lasts at most 12 h; split the job or assume the role again before the session ends`,
        });
      }
    }
    if (w.listed && w.jobs.length > 0 && w.jobs.every(({ job }) => !w.longest.has(jobKey(job)))) {
      notes.push({
        code: 'session-unknown',
        text: `no successful run of the jobs of ${w.repository} that use the key could be read: their sessions keep the default hour (role-duration-seconds: ${DEFAULT_SESSION_SECONDS})`,
      });
    }
  }

  // ---- the provider, the issuer, the key
  let provider: OidcPlan['provider'];
  if ('exists' in f.provider) provider = f.provider.exists ? 'exists' : 'missing';
  else {
    provider = 'unknown';
    notes.push({
      code: 'provider-unknown',
      text:
        `IAM refused iam:GetOpenIDConnectProvider on ${providerArn}, so the plan cannot tell whether the account has it: ` +
        'role.cfn.json creates it; if the account has it, remove the GitHubOidcProvider resource (and the DependsOn that names it) before deploying',
    });
  }
  if (f.issuer.source === 'server' && issuer === GITHUB_COM_ISSUER) {
    notes.push({
      code: 'issuer-derived',
      text:
        `the issuer ${issuer} is derived from the server's address (this job's own token was not read: ${f.issuer.unread ?? 'no token'}); ` +
        'an enterprise that uses a custom issuer (include_enterprise_slug) issues as token.actions.githubusercontent.com/<enterprise-slug>: ' +
        "give the plan job 'id-token: write' and the plan reads the issuer from its own token",
    });
  }
  const keys: PlannedKey[] = perms.keys.map((k) => ({ ...k, signsThePlan: k.id === f.signingKeyId }));
  const signing = keys.find((k) => k.signsThePlan);
  if (signing) {
    notes.push({
      code: 'signing-key',
      text:
        `this plan signs its AWS requests with key ${signing.id} itself, so IAM's last use of that key may be the plan's own ` +
        "and says nothing of the jobs: judge the key's use from a run signed otherwise (a role), or from CloudTrail",
    });
  }

  // A note said once (one per organization, not one per repository of it).
  const said = new Set<string>();
  const unique = notes.filter((x) => !said.has(x.text) && said.add(x.text));
  const first = roles[0]?.name ?? roleNameFor(perms.name);
  return {
    userName: perms.name,
    userArn: perms.arn,
    roleName: first,
    roleArn: roleArn(first),
    rolePath,
    issuer,
    providerArn,
    providerUrl: `https://${issuer}`,
    provider,
    boundary: perms.boundary,
    subjects,
    roles,
    policies,
    jobs,
    notes: unique,
    keys,
    region: f.region,
    stackName: stackNameFor(perms.name),
  };
}
