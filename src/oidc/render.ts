/**
 * The plan as files: role.cfn.json (deploy in one step), a trust policy per role, one JSON file per permissions
 * policy the plan could read, and plan.md (the same in `aws iam` commands, the workflow change per job, the
 * session length, the key afterwards). Pure.
 */
import { TEMPLATE_FILE, cloudFormationTemplate } from './cloudformation.js';
import { CONFIGURE_AWS_CREDENTIALS, DEFAULT_SESSION_SECONDS, type OidcPlan, type PlannedJob, type PlannedRole } from './role-plan.js';
import { STS_AUDIENCE } from './trust.js';

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;
const duration = (s: number): string => {
  const h = Math.floor(s / 3600);
  const min = Math.round((s % 3600) / 60);
  return [h > 0 ? `${h} h` : '', min > 0 || h === 0 ? `${min} min` : ''].filter(Boolean).join(' ');
};

/** The step a job runs instead of reading the key's secrets. */
export function assumeStep(plan: OidcPlan, role: PlannedRole, durationSeconds: number): string[] {
  return [
    `      - uses: ${CONFIGURE_AWS_CREDENTIALS}`,
    '        with:',
    `          role-to-assume: ${role.arn}`,
    `          aws-region: ${plan.region}`,
    ...(durationSeconds !== DEFAULT_SESSION_SECONDS ? [`          role-duration-seconds: ${durationSeconds}`] : []),
  ];
}

/** The change to one job that uses the key. */
function jobChange(plan: OidcPlan, j: PlannedJob): string[] {
  const out: string[] = [];
  out.push(`#### ${j.repository}: ${j.file}, job \`${j.id}\`${j.name !== j.id ? ` (${j.name})` : ''}`, '');
  if (j.inheritsTo) out.push(`- passes every secret to \`${j.inheritsTo}\` (\`secrets: inherit\`): change the called workflow's jobs the same way.`);
  if (j.lines.length > 0) {
    out.push(j.role ? '- remove the lines that read the key:' : '- the lines that read the key (keep them while the job has no role):');
    for (const l of j.lines) out.push(`  - line ${l.line}: \`${l.text}\``);
  }
  if (!j.role) {
    out.push(
      '- the trust policy admits none of its runs: leave it on the key until it has a role of its own (make its ' +
        'environment or branch a destination and plan again), or take AWS out of it.',
    );
  } else {
    out.push(
      j.idTokenWrite
        ? '- its permissions already allow `id-token: write`.'
        : "- add to the job's `permissions:` (a job that sets permissions gets only those it names): `id-token: write` (and `contents: read` if it checks out code).",
    );
    out.push(
      `- add before the first step that uses AWS${j.longestSeconds !== undefined ? ` (its longest recent successful run took ${duration(j.longestSeconds)})` : ''}:`,
      '',
      '```yaml',
      ...assumeStep(plan, j.role, j.roleDurationSeconds),
      '```',
    );
  }
  if (j.access.keeps.length > 0) out.push(`- keeps access: ${j.access.keeps.join('; ')}.`);
  if (j.access.loses.length > 0) out.push(`- **loses access** (the trust policy does not admit its token): ${j.access.loses.join('; ')}.`);
  if (j.access.unknown.length > 0) out.push(`- **check**: ${j.access.unknown.join('; ')}.`);
  out.push('');
  return out;
}

function awsCommands(plan: OidcPlan): string[] {
  const out: string[] = ['```sh'];
  if (plan.provider !== 'exists') {
    out.push(`aws iam create-open-id-connect-provider --url ${plan.providerUrl} --client-id-list ${STS_AUDIENCE}`);
  }
  for (const r of plan.roles) {
    out.push(
      `aws iam create-role --role-name ${r.name} --path ${plan.rolePath} --assume-role-policy-document file://${r.trustFile} ` +
        `--max-session-duration ${r.maxSessionSeconds}${plan.boundary ? ` --permissions-boundary ${plan.boundary}` : ''}`,
    );
    for (const p of plan.policies) {
      if (p.kind === 'inline' && p.file) out.push(`aws iam put-role-policy --role-name ${r.name} --policy-name ${p.roleName} --policy-document file://${p.file}`);
      if (p.kind === 'managed') out.push(`aws iam attach-role-policy --role-name ${r.name} --policy-arn ${p.arn}`);
    }
  }
  out.push('```');
  return out;
}

function markdown(plan: OidcPlan): string {
  const out: string[] = [];
  out.push(`# Replace the access key of IAM user ${plan.userName} with a role`, '');
  out.push(
    `Read-only: this plan changed nothing in IAM or GitHub. ${plan.roles.length > 1 ? `The roles ${plan.roles.map((r) => `**${r.name}**`).join(', ')} are` : `The role **${plan.roleName}** (\`${plan.roleArn}\`) is`} ` +
      `assumed through GitHub's OIDC provider \`${plan.issuer}\` (\`${plan.providerArn}\`, audience \`${STS_AUDIENCE}\`), which the account ` +
      `${plan.provider === 'exists' ? 'has' : plan.provider === 'missing' ? 'does not have yet: the template creates it' : 'may or may not have (see the notes)'}.`,
    '',
  );
  out.push('## 1. Deploy', '');
  if (plan.roles.length === 0) out.push('Nothing to deploy: no destination gave an exact subject (see the notes).', '');
  else {
    out.push(
      `One step, with CloudFormation (\`${TEMPLATE_FILE}\`: ${plan.provider !== 'exists' ? 'the provider, ' : ''}the role${plan.roles.length > 1 ? 's' : ''} with ` +
        `${['trust policy', 'path', ...(plan.boundary ? ['permissions boundary'] : []), 'maximum session'].join(', ')}` +
        `${plan.policies.some((p) => p.file || p.kind === 'managed') ? ' and the permissions' : ''}):`,
      '',
      '```sh',
      `aws cloudformation deploy --template-file ${TEMPLATE_FILE} --stack-name ${plan.stackName} --capabilities CAPABILITY_NAMED_IAM`,
      '```',
      '',
      'Or the same with `aws iam`, from this folder:',
      '',
      ...awsCommands(plan),
      '',
    );
  }
  out.push('## 2. Trust policy', '');
  if (plan.roles.length === 0) out.push('None written.', '');
  for (const r of plan.roles) {
    out.push(
      `\`${r.trustFile}\` (role ${r.name}): \`aud\` is \`${STS_AUDIENCE}\`; per repository its \`repository_id\` and its exact \`sub\` (no wildcard):`,
      '',
    );
    for (const s of plan.subjects.filter((x) => x.role === r.name)) out.push(`- \`${s.sub}\` (${s.destination}, repository_id ${s.repositoryId})`);
    out.push('');
  }
  out.push('## 3. Permissions: what the key may do today', '');
  if (plan.policies.length === 0) out.push('The user has no policies (directly or through groups).');
  for (const p of plan.policies) {
    if (p.kind === 'managed') {
      out.push(`- managed policy **${p.name}** (from the ${p.from}): attached by ARN \`${p.arn}\`; document: ${p.file ?? `not readable (IAM refused ${p.unreadable?.action})`}`);
    } else if (p.file) {
      out.push(`- inline policy **${p.name}** (from the ${p.from}): put on the role as \`${p.roleName}\`; document: ${p.file}`);
    } else {
      out.push(`- inline policy **${p.name}** (from the ${p.from}): **not put on the role**: IAM refused ${p.unreadable?.action}, so its document is unknown (see the notes)`);
    }
  }
  out.push('', plan.boundary ? `Permissions boundary, kept: \`${plan.boundary}\`.` : 'The user has no permissions boundary.', '');
  out.push('## 4. Switch the jobs', '');
  for (const r of plan.roles) {
    out.push(
      `A job of ${r.repositories.join(', ')} stops reading the key's secrets and assumes the role ${r.name} instead:`,
      '',
      '```yaml',
      '    permissions:',
      '      id-token: write # lets configure-aws-credentials request the OIDC token',
      '      contents: read',
      '    steps:',
      ...assumeStep(plan, r, DEFAULT_SESSION_SECONDS),
      '```',
      '',
    );
  }
  const using = plan.jobs;
  if (using.length === 0) out.push('No job that reads the key was found in the workflows the plan could read (see the notes).', '');
  else {
    out.push(
      'Each job below reads the key. Where the trust policy admits its runs, it assumes the role instead; the runs it ' +
        'does not admit are listed as losing access: give them their own destination (and role) or keep them off AWS.',
      '',
    );
    for (const j of using) out.push(...jobChange(plan, j));
  }
  out.push('## 5. Session length', '');
  for (const r of plan.roles) {
    const mine = plan.jobs.filter((j) => j.role?.name === r.name);
    const read = mine.filter((j) => j.longestSeconds !== undefined);
    out.push(
      `- ${r.name}: maximum session ${duration(r.maxSessionSeconds)} (${r.maxSessionSeconds} s)` +
        (read.length > 0
          ? `, from the longest recent successful run of its jobs (${duration(Math.max(...read.map((j) => j.longestSeconds as number)))}) plus a quarter, in 15-minute steps.`
          : ': no run of its jobs was read, so the default hour.'),
    );
  }
  out.push('', '## 6. The key afterwards', '');
  for (const k of plan.keys) {
    const used = k.signsThePlan
      ? 'not known: this plan signs with this key, so its last use may be the plan\'s own'
      : k.lastUsed
        ? `${k.lastUsed.date} (${k.lastUsed.service}, ${k.lastUsed.region})`
        : 'never';
    out.push(`- ${k.id} (${k.status}, created ${k.created.toISOString()}): last used ${used}`);
  }
  out.push(
    '',
    'Until every job above assumes the role, keep rotating with staged retirement: in the rotation workflow\'s step',
    '',
    '```yaml',
    '          retire-after-hours: 168',
    '```',
    '',
    'Each rotation then leaves the previous key Active and retires it (per `previous-key`) only once its last use lies ' +
      'that long in the past, and warns, naming the last use, while something still uses it. Once no warning names a use, ' +
      'deactivate the remaining key (`aws iam update-access-key --status Inactive`), delete the secrets from the ' +
      'destinations, and after a quiet week delete the key and the schedule.',
  );
  if (plan.notes.length > 0) {
    out.push('', '## Notes', '');
    for (const n of plan.notes) out.push(`- ${n.text}`);
  }
  return `${out.join('\n')}\n`;
}

/** File name → content. */
export function planFiles(plan: OidcPlan): Map<string, string> {
  const files = new Map<string, string>();
  if (plan.roles.length > 0) files.set(TEMPLATE_FILE, json(cloudFormationTemplate(plan)));
  for (const r of plan.roles) files.set(r.trustFile, json(r.trust));
  for (const p of plan.policies) if (p.file && p.document !== undefined) files.set(p.file, json(p.document));
  files.set('plan.md', markdown(plan));
  return files;
}
