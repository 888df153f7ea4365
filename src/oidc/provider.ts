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

/** The issuer a job's tokens carry, and how the plan knows it. */
export interface Issuer {
  /** Without https://: the IAM provider's name and the prefix of its condition keys. */
  issuer: string;
  /** 'token': read from this job's own OIDC token; 'server': derived from GITHUB_SERVER_URL. */
  source: 'token' | 'server';
  /** Why the job's own token was not read, when it was not. */
  unread?: string;
}

/** The audience the plan asks its own token for: none that STS (or anything else) accepts. */
export const PLAN_TOKEN_AUDIENCE = 'rotate-aws-access-key-oidc-plan';

/** The `iss` of a JWT, without https://, or undefined when it is not one an IAM provider can name. */
export function issuerOfToken(jwt: string): string | undefined {
  const payload = jwt.split('.')[1];
  if (!payload) return undefined;
  let iss: unknown;
  try {
    iss = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss?: unknown }).iss;
  } catch {
    return undefined;
  }
  if (typeof iss !== 'string') return undefined;
  const m = /^https:\/\/([a-z0-9.-]+(?::\d+)?(?:\/[A-Za-z0-9._~-]+)*)\/?$/i.exec(iss);
  return m ? m[1] : undefined;
}

/**
 * The issuer of the destinations' tokens. GitHub Enterprise Cloud with a custom issuer (the enterprise's
 * include_enterprise_slug) issues as token.actions.githubusercontent.com/<enterprise-slug>, a setting the REST API
 * only writes; the job's own token (id-token: write) carries it, so the plan reads it there when it may, with an
 * audience nothing accepts. Else: derived from GITHUB_SERVER_URL, and said so.
 */
export async function readIssuer(env: Record<string, string | undefined>, idToken: ((audience: string) => Promise<string>) | undefined): Promise<Issuer> {
  const derived = oidcIssuer(env);
  if (!idToken) return { issuer: derived, source: 'server', unread: "the job has no 'id-token: write'" };
  let jwt: string;
  try {
    jwt = await idToken(PLAN_TOKEN_AUDIENCE);
  } catch (err) {
    return { issuer: derived, source: 'server', unread: `its request failed: ${err instanceof Error ? err.message : String(err)}` };
  }
  const issuer = issuerOfToken(jwt);
  return issuer ? { issuer, source: 'token' } : { issuer: derived, source: 'server', unread: 'it carried no usable iss claim' };
}
