/**
 * The findings as SARIF 2.1.0 for GitHub code scanning: each result located at the manifest entry it concerns (file and
 * line), so it lands in the Security tab, and fingerprinted by what it is about (rule, user, key), so an unchanged
 * finding stays one alert across audits and closes when it is gone.
 */
import { createHash } from 'node:crypto';
import { type Finding, type FindingCode, SEVERITY } from './findings.js';

const HELP = 'https://github.com/your-org/rotate-aws-access-key/blob/main/docs/fleet.md#findings';

/** What each rule checks, for the Security tab. */
export const RULES: Record<FindingCode, { name: string; text: string }> = {
  'root-access-key': { name: 'RootAccessKey', text: "The account's root user has an access key (Security Hub IAM.4)." },
  'missing-user': { name: 'ManifestUserMissing', text: 'A manifest user does not exist in IAM.' },
  'user-unreadable': { name: 'UserUnreadable', text: "A user's keys could not be read: they are unknown, not audited." },
  'two-active-keys': { name: 'TwoActiveKeys', text: 'An IAM user has two Active access keys.' },
  'unmanaged-key': { name: 'UnmanagedAccessKey', text: 'An access key belongs to a user no manifest entry names: nothing rotates it.' },
  'key-too-old': { name: 'AccessKeyTooOld', text: 'An Active access key is older than max-age-days (AWS Config access-keys-rotated, Security Hub IAM.3).' },
  'key-unused': { name: 'AccessKeyUnused', text: 'An Active access key has not been used for unused-days (Security Hub IAM.22).' },
};

const CODES = Object.keys(RULES) as FindingCode[];
const fingerprint = (f: Finding) => createHash('sha256').update(`${f.code}\0${f.user.toLowerCase()}\0${f.keyId ?? ''}`).digest('hex');

export function sarif(findings: Finding[], manifest: string) {
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'rotate-aws-access-key fleet audit',
            informationUri: HELP,
            rules: CODES.map((code) => ({
              id: code,
              name: RULES[code].name,
              shortDescription: { text: RULES[code].text },
              helpUri: `${HELP}`,
              defaultConfiguration: { level: SEVERITY[code] },
            })),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.code,
          ruleIndex: CODES.indexOf(f.code),
          level: f.severity,
          message: { text: f.message },
          locations: [{ physicalLocation: { artifactLocation: { uri: manifest }, region: { startLine: f.line } } }],
          partialFingerprints: { 'rotateAwsAccessKeyFinding/v1': fingerprint(f) },
        })),
      },
    ],
  };
}
