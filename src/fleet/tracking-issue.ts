/**
 * One issue in the workflow's repository kept current with the audit: opened when there are findings, its body
 * replaced when they change, reopened when they come back, closed when the account is clean. Found again by its
 * label and the marker in its body (one issue per account and manifest). At most one write per audit.
 */
import type { GitHubApi } from '../github/github-api.js';
import { gitHubError } from '../github/secrets.js';

export const ISSUE_LABEL = 'aws-access-key-audit';
const PERMISSION = "repository permission 'Issues: write' (the workflow's GITHUB_TOKEN with permissions: issues: write)";
/**
 * The hint a 403 adds about the workflow's GITHUB_TOKEN is about secrets, which it cannot write; issues it can
 * (permissions: issues: write): the kind that adds no such hint.
 */
const NO_SECRETS_HINT = 'pat' as const;
/** GitHub's limit on an issue body. */
const BODY_MAX = 65_536;

export interface TrackedIssue {
  number: number;
  state: 'open' | 'closed';
  body: string;
}

/** What the audit did to the issue. */
export type IssueAction = 'opened' | 'updated' | 'reopened' | 'closed' | 'unchanged' | 'none';

export interface IssueOutcome {
  action: IssueAction;
  number?: number;
  /** Content-creating requests made (0 or 1). */
  writes: number;
}

export const issueMarker = (account: string, manifest: string) => `<!-- rotate-aws-access-key fleet audit: account=${account} manifest=${manifest} -->`;

/** The body: the marker, then the page, cut to GitHub's limit (the report file has the rest). */
export function issueBody(marker: string, page: string): string {
  const body = `${marker}\n${page}`;
  if (body.length <= BODY_MAX) return body;
  const note = '\n\n… cut to fit an issue: the job summary and the report file have the rest.\n';
  return body.slice(0, BODY_MAX - note.length) + note;
}

/** The issue this marker names: the newest with the label and the marker, open or closed. */
export async function findIssue(gh: GitHubApi, owner: string, repo: string, marker: string): Promise<TrackedIssue | undefined> {
  const route = 'GET /repos/{owner}/{repo}/issues';
  try {
    for await (const page of gh.paginate.iterator(route, { owner, repo, labels: ISSUE_LABEL, state: 'all', per_page: 100 })) {
      for (const item of page.data as { number: number; state: string; body?: string | null; pull_request?: unknown }[]) {
        if (item.pull_request === undefined && (item.body ?? '').startsWith(marker)) {
          return { number: item.number, state: item.state === 'closed' ? 'closed' : 'open', body: item.body ?? '' };
        }
      }
    }
  } catch (err) {
    throw gitHubError('listing the audit issues of', `${owner}/${repo}`, err, PERMISSION, NO_SECRETS_HINT);
  }
  return undefined;
}

/**
 * Bring the issue up to date: `findings` 0 closes an open issue (or leaves none), else the issue is opened, reopened
 * or its body replaced (no write when the body is already this one and it is open).
 */
export async function keepIssue(
  gh: GitHubApi,
  where: { owner: string; repo: string },
  marker: string,
  title: string,
  page: string,
  findings: number,
): Promise<IssueOutcome> {
  const { owner, repo } = where;
  const existing = await findIssue(gh, owner, repo, marker);
  const body = issueBody(marker, page);
  const patch = async (issue: TrackedIssue, fields: Record<string, unknown>, action: IssueAction): Promise<IssueOutcome> => {
    try {
      await gh.request('PATCH /repos/{owner}/{repo}/issues/{issue_number}', { owner, repo, issue_number: issue.number, ...fields });
    } catch (err) {
      throw gitHubError(`updating issue #${issue.number} of`, `${owner}/${repo}`, err, PERMISSION, NO_SECRETS_HINT);
    }
    return { action, number: issue.number, writes: 1 };
  };
  if (findings === 0) {
    if (!existing || existing.state === 'closed') return { action: 'none', number: existing?.number, writes: 0 };
    return patch(existing, { title, body, state: 'closed', state_reason: 'completed' }, 'closed');
  }
  if (!existing) {
    try {
      const made = await gh.request('POST /repos/{owner}/{repo}/issues', { owner, repo, title, body, labels: [ISSUE_LABEL] });
      return { action: 'opened', number: (made.data as { number: number }).number, writes: 1 };
    } catch (err) {
      throw gitHubError('opening the audit issue in', `${owner}/${repo}`, err, PERMISSION, NO_SECRETS_HINT);
    }
  }
  if (existing.state === 'closed') return patch(existing, { title, body, state: 'open' }, 'reopened');
  if (existing.body === body) return { action: 'unchanged', number: existing.number, writes: 0 };
  return patch(existing, { title, body }, 'updated');
}
