/**
 * GitHub Actions variables (access-key-id-as: variable): the access key id as a plain value, never the secret access
 * key. Repository, environment and organization variables; Dependabot has none (src/config/inputs.ts refuses the pair).
 */
import { type VariableDestination, label, variableWritePermission, variablesPath } from './destinations.js';
import type { GitHubApi } from './github-api.js';
import type { Visibility } from '../config/inputs.js';
import { type SecretInfo, type Sharing, answeredAt, gitHubError, statusOf } from './secrets.js';

/** GitHub lists at most 30 variables a page. */
const PAGE = 30;

/** The variables the destination holds, by upper-case name (as GitHub stores them), all pages. Values are dropped. */
export async function listVariables(gh: GitHubApi, d: VariableDestination): Promise<Map<string, SecretInfo>> {
  const out = new Map<string, SecretInfo>();
  for (let page = 1; ; page++) {
    const res = await gh.request(`GET ${variablesPath(d)}`, { per_page: PAGE, page });
    const data = res.data as { total_count: number; variables: { name: string; updated_at: string; visibility?: Visibility }[] };
    for (const v of data.variables) {
      out.set(v.name.toUpperCase(), { updatedAt: Date.parse(v.updated_at), visibility: v.visibility });
    }
    if (data.variables.length < PAGE || out.size >= data.total_count) return out;
  }
}

/** The repositories an organization variable with visibility 'selected' is shared with. */
export async function selectedVariableRepositories(
  gh: GitHubApi,
  d: VariableDestination,
  name: string,
): Promise<{ id: number; fullName: string }[]> {
  const out: { id: number; fullName: string }[] = [];
  for (let page = 1; ; page++) {
    const res = await gh.request(`GET ${variablesPath(d)}/${encodeURIComponent(name)}/repositories`, { per_page: 100, page });
    const data = res.data as { total_count: number; repositories: { id: number; full_name: string }[] };
    for (const r of data.repositories) out.push({ id: r.id, fullName: r.full_name });
    if (data.repositories.length < 100 || out.length >= data.total_count) return out;
  }
}

/**
 * Write variable `name` = `value` (organization variables: with `sharing`): create it (POST), or update it (PATCH)
 * when it exists. `exists` is what the run knows (preflight's listing, its own writes); when that is wrong GitHub
 * says so (409 on create, 404 on update) and the other request is made, after `pace` (one more write). Returns
 * GitHub's time of the write that took (its Date header), when it gave one.
 */
export async function writeVariable(
  gh: GitHubApi,
  d: VariableDestination,
  name: string,
  value: string,
  sharing: Sharing | undefined,
  exists: boolean,
  pace: () => Promise<void>,
): Promise<number | undefined> {
  const body: Record<string, unknown> = { name, value };
  if (sharing) {
    body.visibility = sharing.visibility;
    if (sharing.visibility === 'selected') body.selected_repository_ids = sharing.selectedRepositoryIds;
  }
  const create = () => gh.request(`POST ${variablesPath(d)}`, body);
  const update = () => gh.request(`PATCH ${variablesPath(d)}/${encodeURIComponent(name)}`, body);
  try {
    try {
      return answeredAt(await (exists ? update() : create()));
    } catch (err) {
      if (statusOf(err) !== (exists ? 404 : 409)) throw err;
      await pace();
      return answeredAt(await (exists ? create() : update()));
    }
  } catch (err) {
    throw gitHubError(`writing variable ${name} to`, label(d), err, variableWritePermission(d), gh.token);
  }
}

/** Delete variable `name` (a 404 counts as done). */
export async function deleteVariable(gh: GitHubApi, d: VariableDestination, name: string): Promise<void> {
  try {
    await gh.request(`DELETE ${variablesPath(d)}/${encodeURIComponent(name)}`);
  } catch (err) {
    if (statusOf(err) === 404) return;
    throw gitHubError(`deleting variable ${name} from`, label(d), err, variableWritePermission(d), gh.token);
  }
}
