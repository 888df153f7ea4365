/**
 * What kind of token github-token is, told from facts: its prefix (GitHub's token formats) and whether it is the
 * job's own GITHUB_TOKEN (when the step's env has it). Decides whether a 403/404 may be the workflow's GITHUB_TOKEN,
 * which cannot write secrets.
 */

/** 'workflow': the job's GITHUB_TOKEN; 'pat': a classic or fine-grained PAT; 'installation': an installation token
 * (the workflow's GITHUB_TOKEN or a GitHub App's); 'unknown': none of GitHub's prefixes (e.g. a GHES or older token). */
export type TokenKind = 'workflow' | 'pat' | 'installation' | 'unknown';

export function tokenKind(token: string, jobToken: string | undefined): TokenKind {
  // A PAT first: a job may set its env's GITHUB_TOKEN to a PAT (env: GITHUB_TOKEN: secrets.PAT), which is no
  // workflow token.
  if (token.startsWith('ghp_') || token.startsWith('github_pat_')) return 'pat';
  if (jobToken && token === jobToken.trim()) return 'workflow';
  if (token.startsWith('ghs_')) return 'installation';
  return 'unknown';
}

const TOKENS_THAT_CAN = 'pass a fine-grained PAT, classic PAT or GitHub App token as github-token';

/** The sentence a 403/404 adds about the workflow's GITHUB_TOKEN, or undefined when github-token cannot be it. */
export function workflowTokenHint(kind: TokenKind): string | undefined {
  if (kind === 'pat') return undefined;
  if (kind === 'workflow') return `github-token is the workflow's GITHUB_TOKEN, which cannot write secrets: ${TOKENS_THAT_CAN}`;
  return `If github-token is the workflow's GITHUB_TOKEN: it cannot write secrets; ${TOKENS_THAT_CAN}`;
}
