/** The plan as files: trust-policy.json, one JSON file per permissions policy, and plan.md. Pure. */
import { CONFIGURE_AWS_CREDENTIALS, type OidcPlan, type PlannedSubject } from './role-plan.js';

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

/** The job change for one repository (and environment): the role instead of the key's secrets. */
export function workflowChange(plan: OidcPlan, s: PlannedSubject): string {
  return [
    `# ${s.repository}${s.environment ? `, environment ${s.environment}` : ''}: remove AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the job`,
    'jobs:',
    '  deploy:',
    '    runs-on: ubuntu-latest',
    ...(s.environment ? [`    environment: ${s.environment}`] : []),
    '    permissions:',
    '      id-token: write # lets configure-aws-credentials request the OIDC token',
    '      contents: read',
    '    steps:',
    `      - uses: ${CONFIGURE_AWS_CREDENTIALS}`,
    '        with:',
    `          role-to-assume: ${plan.roleArn}`,
    `          aws-region: ${plan.region}`,
  ].join('\n');
}

function markdown(plan: OidcPlan): string {
  const out: string[] = [];
  out.push(`# Replace the access key of IAM user ${plan.userName} with a role`, '');
  out.push(
    `Read-only: this plan changed nothing in IAM or GitHub. The role **${plan.roleName}** (path \`${plan.rolePath}\`, ` +
      `\`${plan.roleArn}\`) is assumed by GitHub's OIDC provider \`${plan.issuer}\`; create that identity provider ` +
      `first if the account has none (\`${plan.providerArn}\`, audience \`sts.amazonaws.com\`).`,
    '',
  );
  out.push('## 1. Trust policy: trust-policy.json', '');
  if (plan.trust) {
    out.push('Who may assume the role, exactly (no wildcard): `aud` is `sts.amazonaws.com` and `sub` one of:', '');
    for (const s of plan.subjects) out.push(`- \`${s.sub}\` (${s.destination})`);
  } else out.push('None written: no destination gave an exact subject (see the notes).');
  out.push('', '## 2. Permissions: what the key may do today', '');
  if (plan.policies.length === 0) out.push('The user has no policies (directly or through groups).');
  for (const p of plan.policies) {
    const how =
      p.kind === 'managed'
        ? `attach \`${p.arn}\` to the role (\`aws iam attach-role-policy --role-name ${plan.roleName} --policy-arn ${p.arn}\`)`
        : `put it on the role as an inline policy (\`aws iam put-role-policy --role-name ${plan.roleName} --policy-name ${p.name} --policy-document file://${p.file}\`)`;
    const doc = p.unreadable ? `not readable: IAM refused ${p.unreadable.action}` : p.file;
    out.push(`- ${p.kind} policy **${p.name}** (from the ${p.from}): ${how}; document: ${doc}`);
  }
  out.push(
    '',
    plan.boundary
      ? `Permissions boundary, kept: create the role with \`--permissions-boundary ${plan.boundary}\`.`
      : 'The user has no permissions boundary.',
  );
  out.push('', '## 3. The workflow change', '');
  out.push(`Each job that reads the key's secrets assumes the role instead (\`${CONFIGURE_AWS_CREDENTIALS}\`):`, '');
  for (const s of plan.subjects) out.push('```yaml', workflowChange(plan, s), '```', '');
  out.push('## 4. The key afterwards', '');
  for (const k of plan.keys) {
    out.push(`- ${k.id} (${k.status}, created ${k.created.toISOString()}): last used ${k.lastUsed ? `${k.lastUsed.date} (${k.lastUsed.service}, ${k.lastUsed.region})` : 'never'}`);
  }
  out.push(
    '',
    'Until every job above assumes the role, keep rotating with staged retirement (`retire-after-hours`, e.g. `168`): ' +
      'each rotation leaves the previous key Active and retires it (per `previous-key`) only once its last use lies that ' +
      'long in the past, and warns, naming the last use, while something still uses it. Once no warning names a use, ' +
      'the last rotation has retired the old key; deactivate the remaining one (`aws iam update-access-key --status ' +
      'Inactive`), delete the secrets from the destinations, and after a quiet week delete the key and the schedule.',
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
  if (plan.trust) files.set('trust-policy.json', json(plan.trust));
  for (const p of plan.policies) if (p.document !== undefined) files.set(p.file, json(p.document));
  files.set('plan.md', markdown(plan));
  return files;
}
