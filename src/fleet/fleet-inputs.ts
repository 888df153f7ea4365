/** The fleet action's inputs (fleet/action.yml), read and validated in one place before any network call. */
import { closest } from '../config/closest.js';
import { checkedInto, splitList, undeclaredInputs } from '../config/inputs.js';
import { InputError, InputErrors } from '../shared/errors.js';

/** The inputs fleet/action.yml declares, in its order (test/fleet-inputs.test.ts compares). */
export const FLEET_INPUT_NAMES = [
  'manifest',
  'max-age-days',
  'unused-days',
  'emergency',
  'rotate-now',
  'report-file',
  'sarif-file',
  'tracking-issue',
  'github-token',
  'aws-region',
] as const;

export interface FleetInputs {
  /** The manifest's path as given (relative to the workspace), as annotations and SARIF name it. */
  manifest: string;
  maxAgeDays: number;
  unusedDays: number;
  emergency: boolean;
  /** Manifest users to rotate now whatever their key's age. */
  rotateNow: string[];
  reportFile: string;
  sarifFile: string | undefined;
  trackingIssue: boolean;
  githubToken: string;
  awsRegion: string;
}

const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
const IAM_USER = /^[\w+=,.@-]{1,64}$/;
const quote = (value: string) => `'${value.replace(/[\r\n]+/g, ' ')}'`;
const inputVariable = (input: string) => `INPUT_${input.replace(/ /g, '_').toUpperCase()}`;
const DECLARED = new Set<string>(FLEET_INPUT_NAMES.map(inputVariable));
const loose = (name: string) => name.toLowerCase().replace(/[\s_]/g, '-');

/** A path inside the workspace: relative, no '..' out of it, one line. */
function relativePath(input: string, value: string): string {
  if (/[\r\n\0]/.test(value)) throw new InputError(input, 'is not one path (it holds a line break or NUL)');
  if (value.startsWith('/') || value.split(/[\\/]/).includes('..')) {
    throw new InputError(input, `${quote(value)} must be a path inside the workspace (relative, without '..')`);
  }
  return value.replace(/^\.\//, '');
}

/**
 * Read every fleet input, making no network call; every problem is reported at once (InputErrors). `env` is checked
 * for INPUT_* variables no declared input is passed in (a misspelled `with:` key).
 */
export function readFleetInputs(read: (name: string) => string, env: Record<string, string | undefined> = process.env): FleetInputs {
  const problems = undeclaredInputs(env, DECLARED, (name, variable) => {
    const near = closest(name, FLEET_INPUT_NAMES, loose);
    const hint = near && near.distance <= Math.max(2, Math.floor(name.length / 3)) ? `did you mean ${near.name}?` : 'remove it';
    return `is not an input of the fleet action (${variable}, from the step's with: or env:): ${hint}`;
  });
  const checked = checkedInto(problems);
  const whole = (name: string, fallback: number, max: number): number =>
    checked(fallback, () => {
      const raw = read(name).trim();
      if (raw === '') return fallback;
      if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw new InputError(name, `${quote(raw)} is not a whole number from 1 to ${max}`);
      return Number(raw);
    });
  const bool = (name: string): boolean =>
    checked(false, () => {
      const raw = read(name).trim();
      if (raw === '' || /^(false|False|FALSE)$/.test(raw)) return false;
      if (/^(true|True|TRUE)$/.test(raw)) return true;
      throw new InputError(name, `${quote(raw)} is not a boolean (use true or false)`);
    });

  const manifest = checked('', () => relativePath('manifest', read('manifest').trim() || '.github/aws-access-keys.yml'));
  const maxAgeDays = whole('max-age-days', 90, 36500);
  const unusedDays = whole('unused-days', 90, 36500);
  const emergency = bool('emergency');
  const rotateNow = splitList(read('rotate-now'));
  for (const u of rotateNow) if (!IAM_USER.test(u)) problems.push(new InputError('rotate-now', `${quote(u)} is not an IAM user name`));
  if (emergency && rotateNow.length > 0) {
    problems.push(new InputError('rotate-now', 'is not used with emergency: true, which rotates every manifest user now'));
  }
  const reportFile = checked('', () => relativePath('report-file', read('report-file').trim() || 'aws-access-key-audit.json'));
  const sarifRaw = read('sarif-file').trim();
  const sarifFile = sarifRaw ? checked(undefined, () => relativePath('sarif-file', sarifRaw)) : undefined;
  const trackingIssue = bool('tracking-issue');
  const githubToken = read('github-token').trim();
  if (trackingIssue && !githubToken) {
    problems.push(new InputError('github-token', 'is required with tracking-issue: true (a token with Issues: write on this repository)'));
  }
  const awsRegion = read('aws-region').trim() || 'us-east-1';
  if (!REGION.test(awsRegion)) problems.push(new InputError('aws-region', `${quote(awsRegion)} is not an AWS region (e.g. us-east-1)`));

  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) throw new InputErrors(problems);
  return { manifest, maxAgeDays, unusedDays, emergency, rotateNow, reportFile, sarifFile, trackingIssue, githubToken, awsRegion };
}
