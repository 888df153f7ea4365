/** IAM's credential report as AWS writes it: the root row, key slots with and without keys, last use or N/A. */
import { describe, expect, it } from '@jest/globals';
import { parseCredentialReport } from '../src/aws/credential-report.js';

const HEADER =
  'user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,' +
  'access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,' +
  'access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,' +
  'cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated';

const CSV = [
  HEADER,
  '<root_account>,arn:aws:iam::123456789012:root,2019-01-01T00:00:00+00:00,not_supported,2026-11-30T10:00:00+00:00,not_supported,not_supported,true,true,2020-02-02T00:00:00+00:00,2026-12-01T09:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A',
  'deploy,arn:aws:iam::123456789012:user/ci/deploy,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2026-09-01T12:00:00+00:00,N/A,N/A,N/A,false,2026-05-01T12:00:00+00:00,2026-06-01T00:00:00+00:00,eu-west-1,sts,false,N/A,false,N/A',
  'alice,arn:aws:iam::123456789012:user/alice,2024-01-01T00:00:00+00:00,true,2026-12-01T00:00:00+00:00,2024-01-01T00:00:00+00:00,N/A,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A',
  '',
].join('\n');

describe('parseCredentialReport', () => {
  const rows = parseCredentialReport(CSV);

  it('the root row: its key, Active, with its creation and last use', () => {
    expect(rows[0]).toEqual({
      user: '<root_account>',
      arn: 'arn:aws:iam::123456789012:root',
      root: true,
      keys: [{ slot: 1, active: true, created: new Date('2020-02-02T00:00:00Z'), lastUsed: { date: new Date('2026-12-01T09:00:00Z'), region: 'us-east-1', service: 's3' } }],
    });
  });

  it('a user with an Active key never used and an Inactive one; a user without keys', () => {
    expect(rows[1].keys).toEqual([
      { slot: 1, active: true, created: new Date('2026-09-01T12:00:00Z'), lastUsed: null },
      { slot: 2, active: false, created: new Date('2026-05-01T12:00:00Z'), lastUsed: { date: new Date('2026-06-01T00:00:00Z'), region: 'eu-west-1', service: 'sts' } },
    ]);
    expect(rows[2]).toEqual({ user: 'alice', arn: 'arn:aws:iam::123456789012:user/alice', root: false, keys: [] });
  });

  it('a report without a column the audit needs is refused, naming it', () => {
    expect(() => parseCredentialReport('user,arn\nx,y\n')).toThrow('the credential report has no access_key_1_active column (columns: user, arn)');
    expect(parseCredentialReport('')).toEqual([]);
  });
});
