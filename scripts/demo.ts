/**
 * npm run demo: a full rotation on this machine. Starts moto (IAM + STS, signatures enforced) and the local GitHub API
 * stand-in, seeds a deploy user whose key a repository's environments hold, then runs the built dist/index.js on
 * Node 24 the way the runner does: first a dry run, then the rotation. Prints the log, outputs and job summary, and
 * checks the result against the emulators.
 */
import { GitHubStandin, type Scope } from '../test/support/github-standin.js';
import { authenticates, createUserWithKey, motoAvailable, seedAdmin, startMoto } from '../test/support/moto.js';
import { type ActionRun, node24, runAction } from '../test/support/runner.js';

const line = (title: string) => console.log(`\n\x1b[1m== ${title}\x1b[0m`);

function showLog(run: ActionRun): void {
  for (const l of run.stdout.split('\n')) {
    if (l.startsWith('::add-mask::')) console.log('  ::add-mask::***  (the runner masks this value everywhere)');
    else if (l.startsWith('::group::')) console.log(`  ▸ ${l.slice('::group::'.length)}`);
    else if (l.startsWith('::endgroup::') || l === '') continue;
    else console.log(`  ${l}`);
  }
}

function summaryText(html: string): string {
  return html
    .replace(/<h\d>(.*?)<\/h\d>/g, '\n$1\n')
    .replace(/<\/tr>/g, '\n')
    .replace(/<\/t[hd]>/g, ' | ')
    .replace(/<[^>]+>/g, '')
    // The action escapes every cell; show the text as a browser would.
    .replace(/&(lt|gt|quot|#39|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' })[e] as string)
    .split('\n')
    .map((l) => `  ${l.trim()}`)
    .filter((l) => l.trim() !== '')
    .join('\n');
}

async function main(): Promise<void> {
  if (!motoAvailable()) {
    throw new Error("moto_server is not installed: pip install 'moto[server]' (the demo needs the IAM/STS emulator)");
  }
  line('Starting moto (IAM + STS, signatures enforced) and the local GitHub API stand-in');
  const node = node24();
  const [moto, gh] = await Promise.all([startMoto(), GitHubStandin.start()]);
  try {
    const admin = await seedAdmin(moto);
    const user = 'demo-deployer';
    const old = await createUserWithKey(moto, admin, user, { path: '/ci/deployers/' });
    const repo = 'demo-org/api';
    const environments = ['production', 'staging'];
    gh.addRepository(repo, { environments });
    const scopes: Scope[] = environments.map((environment) => ({ kind: 'environment', owner: 'demo-org', repo: 'api', environment }));
    for (const s of scopes) {
      gh.setSecret(s, 'AWS_ACCESS_KEY_ID', old.accessKeyId);
      gh.setSecret(s, 'AWS_SECRET_ACCESS_KEY', old.secretAccessKey);
    }
    console.log(`  IAM user ci/deployers/${user} with access key ${old.accessKeyId}`);
    console.log(`  ${repo}: environments ${environments.join(', ')} hold that key (as the workflow's secrets)`);
    console.log(`  Node for the action: ${node}`);

    const env = {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: old.accessKeyId,
      AWS_SECRET_ACCESS_KEY: old.secretAccessKey,
      GITHUB_API_URL: gh.url,
      GITHUB_REPOSITORY: repo,
    };
    const inputs = { 'github-token': 'test-token', environments: environments.join('\n'), 'max-age-days': '0' };

    line('1. Dry run (dry-run: true): reads everything, changes nothing');
    const dry = await runAction({ inputs: { ...inputs, 'dry-run': 'true' }, env, node });
    showLog(dry);

    line('2. Rotation (self-rotation: the run authenticates with the key it replaces)');
    const run = await runAction({ inputs, env, node });
    showLog(run);
    console.log(`  exit code ${run.code} in ${Math.round(run.ms)} ms`);

    line('Outputs (GITHUB_OUTPUT)');
    for (const [k, v] of Object.entries(run.outputs)) console.log(`  ${k} = ${v}`);
    line('Job summary (GITHUB_STEP_SUMMARY)');
    console.log(summaryText(run.summary));

    line('Checks against the emulators');
    let ok = run.code === 0;
    for (const s of scopes) {
      const id = gh.secret(s, 'AWS_ACCESS_KEY_ID')?.value ?? '';
      const secret = gh.secret(s, 'AWS_SECRET_ACCESS_KEY')?.value ?? '';
      const works = await authenticates(moto, { accessKeyId: id, secretAccessKey: secret });
      ok &&= works && id !== old.accessKeyId;
      console.log(`  ${repo} environment '${s.environment}' holds ${id}: authenticates ${works ? 'yes' : 'NO'}`);
    }
    const oldWorks = await authenticates(moto, old);
    ok &&= !oldWorks;
    console.log(`  previous key ${old.accessKeyId}: authenticates ${oldWorks ? 'YES (should be deleted)' : 'no (deleted)'}`);
    const leaked = [dry, run].some((r) =>
      scopes.some((s) => {
        const secret = gh.secret(s, 'AWS_SECRET_ACCESS_KEY')?.value ?? '\0';
        return r.stdout.split('\n').some((l) => l.includes(secret) && !l.startsWith('::add-mask::'));
      }),
    );
    ok &&= !leaked;
    console.log(`  secret value in the log outside ::add-mask::: ${leaked ? 'YES' : 'no'}`);
    line(ok ? 'Demo passed' : 'Demo FAILED');
    process.exitCode = ok ? 0 : 1;
  } finally {
    await Promise.all([moto.stop(), gh.stop()]);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
