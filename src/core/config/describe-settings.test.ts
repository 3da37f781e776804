import { describe, expect, it } from 'vitest';
import { describeSettings } from './describe-settings.js';
import { resolveSettings } from './settings.js';

const row = (rows: ReturnType<typeof describeSettings>, path: string) => rows.find((candidate) => candidate.path === path);

describe('core > config > describe settings', () => {
  it('names the profile of a default it set, so config show does not pass it off as the built-in default', () => {
    const rows = describeSettings(resolveSettings({ env: { FLTS_PROFILE: 'reference', EPOCHS: '3' } }));
    expect(row(rows, 'training.hiddenSize')).toMatchObject({ value: 128, source: 'default', profile: 'reference' });
    expect(row(rows, 'training.epochs')).toMatchObject({ value: 3, source: 'env', env: 'EPOCHS' });
    expect(row(rows, 'training.epochs')).not.toHaveProperty('profile');
    expect(row(rows, 'training.batchSize')).not.toHaveProperty('profile');
    expect(describeSettings(resolveSettings()).some((candidate) => 'profile' in candidate)).toBe(false);
  });

  it('masks the container authorization token as a secret, and shows the AWS variables that name files and URLs', () => {
    const rows = describeSettings(resolveSettings({ env: { FLTS_S3_CREDENTIALS: 'aws', AWS_CONTAINER_AUTHORIZATION_TOKEN: 'Bearer never-shown', AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:8080/creds' } }));
    expect(row(rows, 'store.s3.aws.containerAuthorizationToken')).toMatchObject({ value: '***', secret: true, env: 'AWS_CONTAINER_AUTHORIZATION_TOKEN' });
    expect(row(rows, 'store.s3.aws.containerCredentialsFullUri')).toMatchObject({ value: 'http://127.0.0.1:8080/creds', secret: false });
    expect(row(rows, 'store.s3.credentials')).toMatchObject({ value: 'aws', source: 'env', env: 'FLTS_S3_CREDENTIALS' });
    expect(JSON.stringify(rows)).not.toContain('never-shown');
  });
});
