/**
 * The jobs of a workflow file that use the key (its secrets, or the id as a variable), the lines to replace, and
 * which of their runs the role's trust policy admits. Pure: a function of the file's text and the plan's subjects.
 */
import { LineCounter, parseDocument, isMap, isPair, isScalar, type YAMLMap } from 'yaml';
import { claimEnvironment } from './subject.js';

export interface KeyLine {
  line: number;
  text: string;
}

export interface WorkflowJob {
  /** The file's path in the repository (.github/workflows/x.yml). */
  file: string;
  /** The job's id (its key under jobs:). */
  id: string;
  /** The name GitHub shows for its runs: `name:`, else the id. */
  name: string;
  /** Its environment's name; `expression` when it is computed at run time. */
  environment?: string | { expression: string };
  /** The lines that read the key (in the job, or workflow-wide env: every job gets it). */
  lines: KeyLine[];
  /** Its token may ask for an OIDC token: `id-token: write` (or write-all) in the job's or the workflow's permissions. */
  idTokenWrite: boolean;
  /** A reusable workflow it calls with `secrets: inherit` (the callee may read the key). */
  inheritsTo?: string;
}

export type ParsedWorkflow = { ok: true; jobs: WorkflowJob[]; on: Record<string, unknown> } | { ok: false; error: string };

type Yaml = Record<string, unknown>;
const isObject = (v: unknown): v is Yaml => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The events a workflow runs on, as a map (`on: push` and `on: [push, pull_request]` too). */
function eventsOf(on: unknown): Record<string, unknown> {
  if (typeof on === 'string') return { [on]: null };
  if (Array.isArray(on)) return Object.fromEntries(on.filter((x): x is string => typeof x === 'string').map((x) => [x, null]));
  return isObject(on) ? on : {};
}

function writesIdToken(permissions: unknown): boolean {
  if (permissions === 'write-all') return true;
  return isObject(permissions) && permissions['id-token'] === 'write';
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The jobs of `text` that read any of `names` as `secrets.NAME` or `vars.NAME` (case-insensitive, as GitHub's
 * expressions compare), or pass every secret on (`secrets: inherit`).
 */
export function jobsUsingKey(file: string, text: string, names: string[]): ParsedWorkflow {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) return { ok: false, error: doc.errors[0].message.split('\n')[0] };
  const root = doc.toJS() as unknown;
  if (!isObject(root) || !isObject(root.jobs)) return { ok: false, error: 'no jobs: map' };
  const uses = new RegExp(`\\b(?:secrets|vars)\\.(?:${names.map(escape).join('|')})\\b`, 'i');
  const lines = text.split(/\r?\n/);
  const hits: KeyLine[] = [];
  lines.forEach((t, i) => {
    if (uses.test(t)) hits.push({ line: i + 1, text: t.trim() });
  });
  const jobsNode = doc.get('jobs', true);
  const ranges = new Map<string, [number, number]>();
  if (isMap(jobsNode)) {
    for (const item of (jobsNode as YAMLMap).items) {
      if (!isPair(item) || !isScalar(item.key)) continue;
      const start = item.key.range?.[0];
      const end = (item.value as { range?: [number, number, number] } | null)?.range?.[2];
      if (start !== undefined && end !== undefined) ranges.set(String(item.key.value), [lineCounter.linePos(start).line, lineCounter.linePos(end).line]);
    }
  }
  const inJob = (line: number): string | undefined => [...ranges].find(([, [a, b]]) => line >= a && line <= b)?.[0];
  const workflowWide = hits.filter((h) => inJob(h.line) === undefined);
  const out: WorkflowJob[] = [];
  for (const [id, raw] of Object.entries(root.jobs)) {
    const job = isObject(raw) ? raw : {};
    const own = hits.filter((h) => inJob(h.line) === id);
    const inherits = job.secrets === 'inherit' && typeof job.uses === 'string' ? job.uses : undefined;
    if (own.length === 0 && workflowWide.length === 0 && !inherits) continue;
    const env = job.environment;
    const envName = typeof env === 'string' ? env : isObject(env) && typeof env.name === 'string' ? env.name : undefined;
    const name = typeof job.name === 'string' && !job.name.includes('${{') ? job.name : id;
    out.push({
      file,
      id,
      name,
      ...(envName !== undefined ? { environment: envName.includes('${{') ? { expression: envName } : envName } : {}),
      lines: [...workflowWide, ...own],
      idTokenWrite: writesIdToken(job.permissions !== undefined ? job.permissions : root.permissions),
      ...(inherits ? { inheritsTo: inherits } : {}),
    });
  }
  return { ok: true, jobs: out, on: eventsOf(root.on) };
}

/** Which runs of a job keep the key's access through the role, which lose it, and which the plan cannot tell. */
export interface JobAccess {
  keeps: string[];
  loses: string[];
  unknown: string[];
}

/** What the trust policy admits for one repository: its default branch's jobs, and jobs in these environments. */
export interface Admitted {
  defaultBranch: string;
  branch: boolean;
  environments: string[];
}

const list = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : undefined;

/**
 * A job's runs against the trust policy: a job in an environment carries `environment:NAME` whatever started it;
 * otherwise its token names the ref (pushes to other branches, tags, releases) or `pull_request`, and only the
 * default branch's is admitted.
 */
export function accessOf(job: WorkflowJob, on: Record<string, unknown>, a: Admitted): JobAccess {
  const r: JobAccess = { keeps: [], loses: [], unknown: [] };
  const main = a.defaultBranch;
  if (job.environment !== undefined) {
    if (typeof job.environment !== 'string') {
      r.unknown.push(`every run: its environment is computed (${job.environment.expression}), so its subject is known only at run time`);
    } else if (a.environments.some((e) => claimEnvironment(e).toLowerCase() === claimEnvironment(job.environment as string).toLowerCase())) {
      r.keeps.push(`every run (environment ${job.environment})`);
    } else {
      r.loses.push(`every run: it runs in environment ${job.environment}, which is not a destination of this plan`);
    }
    return r;
  }
  if (!a.branch) {
    r.loses.push(`every run: it runs in no environment, and the trust policy admits only environment jobs (${a.environments.join(', ')})`);
    return r;
  }
  for (const [event, cfg] of Object.entries(on)) {
    const c = isObject(cfg) ? cfg : {};
    switch (event) {
      case 'push': {
        const branches = list(c.branches);
        const tags = list(c.tags);
        const ignored = list(c['branches-ignore']);
        if (!branches && !tags && !c['tags-ignore']) {
          if (!ignored?.includes(main)) r.keeps.push(`pushes to ${main}`);
          r.loses.push(`pushes to other branches, and of tags (their token names that ref)`);
        } else {
          if (branches?.includes(main) || (ignored && !ignored.includes(main))) r.keeps.push(`pushes to ${main}`);
          const others = (branches ?? []).filter((b) => b !== main);
          if (others.length > 0 || ignored) r.loses.push(`pushes to ${others.length > 0 ? others.join(', ') : `branches other than ${main}`}`);
          if (tags || c['tags-ignore']) r.loses.push('pushes of tags');
        }
        break;
      }
      case 'pull_request':
        r.loses.push('pull requests (their token carries repo:…:pull_request)');
        break;
      case 'pull_request_target':
        r.unknown.push('pull_request_target runs (check the subject their token carries against the trust policy)');
        break;
      case 'workflow_dispatch':
        r.keeps.push(`manual runs on ${main}`);
        r.loses.push('manual runs on other branches or tags');
        break;
      case 'release':
      case 'create':
      case 'merge_group':
        r.loses.push(`${event} runs (their token names a tag or another branch)`);
        break;
      case 'workflow_call':
        r.unknown.push('calls from other workflows (the caller decides the subject)');
        break;
      default:
        // schedule, workflow_run, repository_dispatch and the other events run on the default branch.
        r.keeps.push(`${event} runs (on ${main})`);
    }
  }
  return r;
}
