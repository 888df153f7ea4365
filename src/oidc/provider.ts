/** GitHub's OIDC token issuer for this server, as IAM names its provider and condition keys. Pure. */

/** github.com's issuer host. */
export const GITHUB_COM_ISSUER = 'token.actions.githubusercontent.com';

/**
 * The issuer (without https://) of the server the run is on, from GITHUB_SERVER_URL: github.com's
 * token.actions.githubusercontent.com, GHE.com's token.actions.SUBDOMAIN.ghe.com, and a GitHub Enterprise Server's
 * HOST/_services/token.
 */
export function oidcIssuer(env: Record<string, string | undefined>): string {
  const server = (env.GITHUB_SERVER_URL ?? '').trim();
  let host: string;
  try {
    host = new URL(server).host.toLowerCase();
  } catch {
    return GITHUB_COM_ISSUER;
  }
  if (host === 'github.com' || host === '') return GITHUB_COM_ISSUER;
  if (host.endsWith('.ghe.com')) return `token.actions.${host}`;
  return `${host}/_services/token`;
}
