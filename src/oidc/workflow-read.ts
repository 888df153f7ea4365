/**
 * What a destination repository's workflows say: the jobs that use the key (Contents: read) and how long their
 * recent successful runs took (Actions: read). Read-only; a refused read is said, never taken for "none".
 */
import type { GitHubApi } from '../github/github-api.js';
import { gitHubError, statusOf } from '../github/secrets.js';
import type { RepoFacts } from './subject.js';
import { type WorkflowJob, jobsUsingKey } from './workflow-jobs.js';

export const WORKFLOWS_DIR = '.github/workflows';
/** Successful runs read per workflow file that uses the key. */
export const RUNS_PER_WORKFLOW = 10;

export interface RepoWorkflows {
  repository: string;
  /** The jobs that use the key, with the events of their workflow. */
  jobs: { job: WorkflowJob; on: Record<string, unknown> }[];
  /** Longest successful run of each job (`file#id`), in seconds, where the runs could be read. */
  longest: Map<string, number>;
  /** Reads GitHub refused or files it could not parse: what, and the answer. */
  unread: string[];
  /** The workflow files could not be listed at all. */
  listed: boolean;
}

const e = encodeURIComponent;
const refused = (err: unknown): boolean => statusOf(err) === 403 || statusOf(err) === 404;
export const jobKey = (j: Pick<WorkflowJob, 'file' | 'id'>): string => `${j.file}#${j.id}`;

/** The workflow job a run's job (as GitHub's jobs API names it) belongs to: a matrix run is `NAME (…)`, a reusable
 * workflow's job `NAME / JOB`. */
const jobOfRun = (runJob: string): string => /^(.*?)(?: \(.*\)| \/ .*)?$/.exec(runJob)?.[1] ?? runJob;
const sameJob = (runJob: string, j: WorkflowJob): boolean => runJob === j.name || jobOfRun(runJob) === j.name;

async function text(gh: GitHubApi, r: RepoFacts, path: string): Promise<string> {
  const data = (await gh.request(`GET /repos/${e(r.owner)}/${e(r.repo)}/contents/${path.split('/').map(e).join('/')}`)).data as {
    content?: string;
    encoding?: string;
  };
  return Buffer.from(data.content ?? '', data.encoding === 'base64' ? 'base64' : 'utf8').toString('utf8');
}

/** The jobs of `r` that use any of `names`, and their longest recent successful run. */
export async function readWorkflows(gh: GitHubApi, r: RepoFacts, names: string[]): Promise<RepoWorkflows> {
  const repository = `${r.owner}/${r.repo}`;
  const out: RepoWorkflows = { repository, jobs: [], longest: new Map(), unread: [], listed: true };
  let files: { name: string; path: string; type: string }[];
  try {
    files = (await gh.request(`GET /repos/${e(r.owner)}/${e(r.repo)}/contents/${WORKFLOWS_DIR}`)).data as typeof files;
  } catch (err) {
    if (!refused(err)) throw gitHubError('listing the workflows of', repository, err, "repository permission 'Contents: read'", gh.token);
    out.listed = false;
    out.unread.push(
      `${WORKFLOWS_DIR} of ${repository} could not be listed (${statusOf(err)}: it has no workflows, or the token lacks ` +
        `'Contents: read' on it): its jobs are not named; give the token 'Contents: read' and run the plan again`,
    );
    return out;
  }
  for (const f of (Array.isArray(files) ? files : []).filter((x) => x.type === 'file' && /\.ya?ml$/i.test(x.name))) {
    let body: string;
    try {
      body = await text(gh, r, f.path);
    } catch (err) {
      if (!refused(err)) throw gitHubError('reading workflow', `${f.path} of ${repository}`, err, "repository permission 'Contents: read'", gh.token);
      out.unread.push(`${f.path} of ${repository} could not be read (${statusOf(err)}): give the token 'Contents: read'`);
      continue;
    }
    const parsed = jobsUsingKey(f.path, body, names);
    if (!parsed.ok) {
      out.unread.push(`${f.path} of ${repository} is not a workflow the plan can read (${parsed.error}): check it by hand`);
      continue;
    }
    if (parsed.jobs.length === 0) continue;
    for (const job of parsed.jobs) out.jobs.push({ job, on: parsed.on });
    await longestRuns(gh, r, f.name, parsed.jobs, out);
  }
  return out;
}

interface RunJson {
  id: number;
}
interface JobJson {
  name: string;
  started_at?: string | null;
  completed_at?: string | null;
  conclusion?: string | null;
}

/** The longest of the last successful runs of each job of one workflow file (Actions: read). */
async function longestRuns(gh: GitHubApi, r: RepoFacts, fileName: string, jobs: WorkflowJob[], out: RepoWorkflows): Promise<void> {
  const repository = `${r.owner}/${r.repo}`;
  try {
    const runs = (
      (await gh.request(`GET /repos/${e(r.owner)}/${e(r.repo)}/actions/workflows/${e(fileName)}/runs`, { status: 'success', per_page: RUNS_PER_WORKFLOW }))
        .data as { workflow_runs?: RunJson[] }
    ).workflow_runs ?? [];
    for (const run of runs.slice(0, RUNS_PER_WORKFLOW)) {
      const runJobs = ((await gh.request(`GET /repos/${e(r.owner)}/${e(r.repo)}/actions/runs/${run.id}/jobs`, { per_page: 100 })).data as { jobs?: JobJson[] }).jobs ?? [];
      for (const rj of runJobs) {
        if (!rj.started_at || !rj.completed_at) continue;
        const seconds = Math.max(0, Math.round((Date.parse(rj.completed_at) - Date.parse(rj.started_at)) / 1000));
        for (const j of jobs.filter((x) => sameJob(rj.name, x))) {
          out.longest.set(jobKey(j), Math.max(out.longest.get(jobKey(j)) ?? 0, seconds));
        }
      }
    }
  } catch (err) {
    if (!refused(err)) throw gitHubError('reading the workflow runs of', `${fileName} in ${repository}`, err, "repository permission 'Actions: read'", gh.token);
    out.unread.push(`the runs of ${fileName} in ${repository} could not be read (${statusOf(err)}): give the token 'Actions: read' to size the session from them`);
  }
}
