/**
 * Copilot coding agent secrets (`copilot: true`: /repos/{owner}/{repo}/agents/secrets and /orgs/{org}/agents/secrets)
 * as a destination kind, against moto and the GitHub stand-in (which really opens the sealed boxes): written beside
 * the Actions secrets, with preflight, the read-back, a refused write rolled back, the REST API version GitHub
 * documents them under, and the inputs' refusal of access-key-id-as: variable.
 */
import { describe, expect, it } from '@jest/globals';
import { readInputs } from '../src/config/inputs.js';
import { AGENTS_API_VERSION, API_VERSION } from '../src/github/github.js';
import { forbidden, type Scope } from './support/github-standin.js';
import { heldPair, holdsWorkingKey, keysOf, repoScope, runRotation, seedPair } from './support/harness.js';
import { useWorld } from './support/world.js';
import { createUserWithKey, requireMoto } from './support/moto.js';

requireMoto();

const world = useWorld();
const fresh = world.fresh;
const orgScope = (org: string): Scope => ({ kind: 'organization', org });
const agentRepo = (full: string): Scope => ({ kind: 'copilot-repository', owner: full.split('/')[0], repo: full.split('/')[1] });
const agentOrg = (org: string): Scope => ({ kind: 'copilot-organization', org });

describe('Copilot coding agent secrets', () => {
  it('writes the pair as agent secrets in every repository and the organization too; every one holds a working key', async () => {
    const org = fresh('org');
    world.gh.addOrganization(org);
    const repos = [`${org}/a`, `${org}/b`];
    for (const r of repos) world.gh.addRepository(r);
    const old = await createUserWithKey(world.moto, world.admin, fresh('deployer'));
    const versions = world.gh.agentsApiVersions.length;
    const { result } = await runRotation(world, {
      as: old,
      inputs: { repositories: repos.join(','), organization: org, 'organization-visibility': 'private', copilot: 'true' },
    });
    expect(result.error).toBeUndefined();
    const scopes = [...repos.flatMap((r) => [repoScope(r), agentRepo(r)]), orgScope(org), agentOrg(org)];
    for (const s of scopes) expect([s, await holdsWorkingKey(world, s)]).toEqual([s, true]);
    for (const s of scopes) expect(heldPair(world.gh, s)?.accessKeyId).toBe(result.newKeyId);
    expect(world.gh.secret(agentOrg(org), 'AWS_ACCESS_KEY_ID')?.visibility).toBe('private');
    expect(result.destinations.map((d) => d.label)).toEqual([
      `${org}/a`,
      `${org}/a (Copilot coding agent)`,
      `${org}/b`,
      `${org}/b (Copilot coding agent)`,
      `organization ${org}`,
      `organization ${org} (Copilot coding agent)`,
    ]);
    // Preflight read the agent scopes' keys and secrets, the writes went there, the read-back listed them again.
    const agentRequests = world.gh.requests.filter((r) => r.path.includes('/agents/')).map((r) => `${r.method} ${r.path}`);
    for (const r of repos) {
      expect(agentRequests.filter((x) => x.startsWith(`GET /repos/${r}/agents/secrets`))).toEqual([
        `GET /repos/${r}/agents/secrets/public-key`,
        `GET /repos/${r}/agents/secrets`,
        `GET /repos/${r}/agents/secrets`,
      ]);
      expect(agentRequests.filter((x) => x.startsWith(`PUT /repos/${r}/agents/secrets`))).toEqual([
        `PUT /repos/${r}/agents/secrets/AWS_ACCESS_KEY_ID`,
        `PUT /repos/${r}/agents/secrets/AWS_SECRET_ACCESS_KEY`,
      ]);
    }
    // Every agents request asked for the version GitHub documents them under; the others the action's usual one.
    expect(new Set(world.gh.agentsApiVersions.slice(versions))).toEqual(new Set([AGENTS_API_VERSION]));
    const others = world.gh.requests.filter((r) => !r.path.includes('/agents/')).map((r) => r.headers['x-github-api-version']);
    expect(new Set(others)).toEqual(new Set([API_VERSION]));
  });

  it('a token without Agent secrets: preflight names the permission and nothing changes', async () => {
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo);
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    world.gh.addFault(forbidden({ method: 'GET', path: new RegExp(`^/repos/${repo}/agents/secrets/public-key$`) }, 'copilot_agent_secrets=write'));
    const { result } = await runRotation(world, { as: old, inputs: { repositories: repo, copilot: 'true' } });
    expect(result.error?.message).toMatch(
      new RegExp(`^reading the public key of ${repo} \\(Copilot coding agent\\): 403 .*GitHub accepts the permission\\(s\\) 'copilot_agent_secrets=write'`),
    );
    expect(result.newKeyId).toBeUndefined();
    expect(world.gh.writes()).toEqual([]);
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
  });

  it('a refused agent-secret write after others were written: every destination put back, the new key deleted', async () => {
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo);
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const scopes = [repoScope(repo), agentRepo(repo)];
    for (const s of scopes) seedPair(world.gh, s, old);
    // A 403 without x-accepted-github-permissions: the message names the permission the kind needs.
    world.gh.addFault({ ...forbidden({ method: 'PUT', path: new RegExp(`^/repos/${repo}/agents/secrets/AWS_SECRET_ACCESS_KEY$`) }), headers: {} });

    const { result } = await runRotation(world, { as: old, inputs: { repositories: repo, copilot: 'true' } });

    const newId = result.newKeyId as string;
    expect(result.error?.message).toMatch(
      new RegExp(
        `^writing AWS_SECRET_ACCESS_KEY to ${repo} \\(Copilot coding agent\\): 403 .*the token needs repository permission 'Agent secrets: write'.*` +
          `Deleted the new key ${newId}\\. Destinations: ${repo}, ${repo} \\(Copilot coding agent\\): put back to ${old.accessKeyId}\\.$`,
      ),
    );
    for (const s of scopes) {
      expect(heldPair(world.gh, s)?.accessKeyId).toBe(old.accessKeyId);
      expect(await holdsWorkingKey(world, s)).toBe(true);
    }
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
  });

  it('access-key-id-as: variable with copilot: true is refused before any request, saying why', () => {
    const read = (values: Record<string, string>) => (n: string) => ({ 'github-token': 't', repositories: 'octo/a', ...values })[n] ?? '';
    expect(() => readInputs(read({ copilot: 'true', 'access-key-id-as': 'variable' }), {})).toThrow(
      "access-key-id-as: 'variable' cannot be used with copilot: true: this action writes the Copilot coding agent's " +
        'secrets, not its variables. Set access-key-id-as: secret to write the id as a secret everywhere, or copilot: false',
    );
    expect(readInputs(read({ copilot: 'true' }), {}).copilot).toBe(true);
    expect(readInputs(read({}), {}).copilot).toBe(false);
  });
});
