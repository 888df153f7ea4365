import type { Inputs, Visibility } from '../config/inputs.js';

/** A place that holds the two secrets. Each has its own public key. */
export type Destination =
  | { kind: 'repository'; owner: string; repo: string }
  | { kind: 'environment'; owner: string; repo: string; environment: string }
  | { kind: 'organization'; org: string; visibility: Visibility | undefined; selectedRepositories: string[] }
  | { kind: 'dependabot-repository'; owner: string; repo: string }
  | { kind: 'dependabot-organization'; org: string; visibility: Visibility | undefined; selectedRepositories: string[] }
  | { kind: 'copilot-repository'; owner: string; repo: string }
  | { kind: 'copilot-organization'; org: string; visibility: Visibility | undefined; selectedRepositories: string[] };

export type DestinationKind = Destination['kind'];

/** What every destination is given, by name: the id as a secret or (access-key-id-as: variable) a variable. */
export function heldNames(inputs: Pick<Inputs, 'accessKeyIdAs' | 'accessKeyIdSecretName' | 'secretAccessKeySecretName'>): {
  secrets: string[];
  variables: string[];
} {
  const id = inputs.accessKeyIdSecretName;
  const secret = inputs.secretAccessKeySecretName;
  return inputs.accessKeyIdAs === 'variable' ? { secrets: [secret], variables: [id] } : { secrets: [id, secret], variables: [] };
}

/** The names, for the log: 'A, B', or 'variable A, secret B'. */
export function shownNames(inputs: Pick<Inputs, 'accessKeyIdAs' | 'accessKeyIdSecretName' | 'secretAccessKeySecretName'>): string {
  const { secrets, variables } = heldNames(inputs);
  return variables.length === 0 ? secrets.join(', ') : [...variables.map((v) => `variable ${v}`), ...secrets.map((n) => `secret ${n}`)].join(', ');
}

/** Every destination the inputs name, in write order: repositories (or their environments), then organization. */
export function destinationsFrom(inputs: Inputs): Destination[] {
  const out: Destination[] = [];
  for (const { owner, repo } of inputs.repositories) {
    if (inputs.environments.length === 0) out.push({ kind: 'repository', owner, repo });
    for (const environment of inputs.environments) out.push({ kind: 'environment', owner, repo, environment });
    if (inputs.dependabot) out.push({ kind: 'dependabot-repository', owner, repo });
    if (inputs.copilot) out.push({ kind: 'copilot-repository', owner, repo });
  }
  if (inputs.organization !== undefined) {
    const org = {
      org: inputs.organization,
      visibility: inputs.organizationVisibility,
      selectedRepositories: inputs.organizationSelectedRepositories,
    };
    out.push({ kind: 'organization', ...org });
    if (inputs.dependabot) out.push({ kind: 'dependabot-organization', ...org });
    if (inputs.copilot) out.push({ kind: 'copilot-organization', ...org });
  }
  return out;
}

/** How a person names the destination in logs, errors and the summary. */
export function label(d: Destination): string {
  switch (d.kind) {
    case 'repository':
      return `${d.owner}/${d.repo}`;
    case 'environment':
      return `${d.owner}/${d.repo} environment '${d.environment}'`;
    case 'dependabot-repository':
      return `${d.owner}/${d.repo} (Dependabot)`;
    case 'organization':
      return `organization ${d.org}`;
    case 'dependabot-organization':
      return `organization ${d.org} (Dependabot)`;
    case 'copilot-repository':
      return `${d.owner}/${d.repo} (Copilot coding agent)`;
    case 'copilot-organization':
      return `organization ${d.org} (Copilot coding agent)`;
  }
}

/** REST path of the destination's secrets collection (URL-encoded). */
export function secretsPath(d: Destination): string {
  const e = encodeURIComponent;
  switch (d.kind) {
    case 'repository':
      return `/repos/${e(d.owner)}/${e(d.repo)}/actions/secrets`;
    case 'environment':
      return `/repos/${e(d.owner)}/${e(d.repo)}/environments/${e(d.environment)}/secrets`;
    case 'dependabot-repository':
      return `/repos/${e(d.owner)}/${e(d.repo)}/dependabot/secrets`;
    case 'organization':
      return `/orgs/${e(d.org)}/actions/secrets`;
    case 'dependabot-organization':
      return `/orgs/${e(d.org)}/dependabot/secrets`;
    case 'copilot-repository':
      return `/repos/${e(d.owner)}/${e(d.repo)}/agents/secrets`;
    case 'copilot-organization':
      return `/orgs/${e(d.org)}/agents/secrets`;
  }
}

/**
 * The destination kinds that have Actions variables: Dependabot has secrets only; the Copilot coding agent's variables
 * are not written by this action (src/config/inputs.ts refuses the pair).
 */
export type VariableDestination = Extract<Destination, { kind: 'repository' | 'environment' | 'organization' }>;

export function hasVariables(d: Destination): d is VariableDestination {
  return d.kind === 'repository' || d.kind === 'environment' || d.kind === 'organization';
}

/** REST path of the destination's Actions variables collection (URL-encoded). */
export function variablesPath(d: VariableDestination): string {
  const e = encodeURIComponent;
  switch (d.kind) {
    case 'repository':
      return `/repos/${e(d.owner)}/${e(d.repo)}/actions/variables`;
    case 'environment':
      return `/repos/${e(d.owner)}/${e(d.repo)}/environments/${e(d.environment)}/variables`;
    case 'organization':
      return `/orgs/${e(d.org)}/actions/variables`;
  }
}

/** The token permission writing this destination's variables needs, for error messages. */
export function variableWritePermission(d: VariableDestination): string {
  switch (d.kind) {
    case 'repository':
      return "repository permission 'Variables: write' (classic PAT: repo scope)";
    case 'environment':
      return "repository permissions 'Environments: write' and 'Variables: write' (classic PAT: repo scope)";
    case 'organization':
      return "organization permission 'Variables: write' (classic PAT: admin:org scope)";
  }
}

export function isOrganization(d: Destination): d is Extract<Destination, { org: string }> {
  return d.kind === 'organization' || d.kind === 'dependabot-organization' || d.kind === 'copilot-organization';
}

/** The token permission a write to this kind of destination needs, for error messages. */
export function writePermission(d: Destination): string {
  switch (d.kind) {
    case 'repository':
      return "repository permission 'Secrets: write' (classic PAT: repo scope)";
    case 'environment':
      return "repository permissions 'Environments: write' and 'Secrets: write' (classic PAT: repo scope)";
    case 'dependabot-repository':
      return "repository permission 'Dependabot secrets: write' (classic PAT: repo scope)";
    case 'organization':
      return "organization permission 'Secrets: write' (classic PAT: admin:org scope)";
    case 'dependabot-organization':
      return "organization permission 'Dependabot secrets: write' (classic PAT: admin:org scope)";
    case 'copilot-repository':
      return "repository permission 'Agent secrets: write' (classic PAT: repo scope)";
    case 'copilot-organization':
      return "organization permission 'Agent secrets: write' (classic PAT: admin:org scope)";
  }
}

/**
 * JSON-friendly description for the `destinations` output. `visibility`: how the secrets were really written (an
 * empty organization-visibility keeps each existing secret's), when known.
 */
export function describe(d: Destination, visibility: Visibility | undefined = undefined): Record<string, unknown> {
  switch (d.kind) {
    case 'repository':
    case 'dependabot-repository':
    case 'copilot-repository':
      return { kind: d.kind, repository: `${d.owner}/${d.repo}` };
    case 'environment':
      return { kind: d.kind, repository: `${d.owner}/${d.repo}`, environment: d.environment };
    case 'organization':
    case 'dependabot-organization':
    case 'copilot-organization':
      return {
        kind: d.kind,
        organization: d.org,
        visibility: visibility ?? d.visibility ?? 'private',
        ...(d.visibility === 'selected' ? { selectedRepositories: d.selectedRepositories } : {}),
      };
  }
}
