import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../settings.js';

describe('core > config > specs > distributed', () => {
  it('reads the reference MinIO and Kafka variable names', () => {
    const { settings } = resolveSettings({
      env: { MINIO_ENDPOINT: 'minio:9000', MINIO_ROOT_USER: 'user', MINIO_ROOT_PASSWORD: 'pass', KAFKA_BOOTSTRAP_SERVERS: 'kafka:9092, kafka2:9092', EVAL_GROUP_ID: 'evaluator', FAILURE_MAX_RETRIES: '5', MODEL_SELECTED_TOPIC: 'promotions' },
    });
    expect(settings.store.s3).toMatchObject({ endpoint: 'minio:9000', accessKey: 'user', secretKey: 'pass', secure: null, region: 'us-east-1' });
    expect(settings.bus.kafka.brokers).toEqual(['kafka:9092', 'kafka2:9092']);
    expect(settings.bus.groups.promoter).toBe('evaluator');
    expect(settings.bus.retry.maxAttempts).toBe(5);
    expect(settings.bus.topics).toEqual({ trainingData: 'training-data', inferenceData: 'inference-data', modelTraining: 'model-training', modelSelected: 'promotions', performanceEval: 'performance-eval' });
  });

  it('falls back to the AWS names and prefers the MinIO ones', () => {
    const aws = resolveSettings({ env: { AWS_ACCESS_KEY_ID: 'ak', AWS_SECRET_ACCESS_KEY: 'sk', MLFLOW_S3_ENDPOINT_URL: 'https://s3.local', AWS_DEFAULT_REGION: 'eu-west-1' } }).settings;
    expect(aws.store.s3).toMatchObject({ endpoint: 'https://s3.local', accessKey: 'ak', secretKey: 'sk', region: 'eu-west-1' });
    const both = resolveSettings({ env: { AWS_ACCESS_KEY_ID: 'ak', MINIO_ROOT_USER: 'minio-user' } }).settings;
    expect(both.store.s3.accessKey).toBe('minio-user');
  });

  it('reads the session token of temporary static credentials from AWS_SESSION_TOKEN, none by default, and never echoes it', () => {
    expect(resolveSettings().settings.store.s3.sessionToken).toBe('');
    const { settings, envNames } = resolveSettings({ env: { AWS_ACCESS_KEY_ID: 'ASIA1', AWS_SECRET_ACCESS_KEY: 'sk', AWS_SESSION_TOKEN: ' IQoJb3JpZ2luX2VjE \n' } });
    expect(settings.store.s3).toMatchObject({ credentials: 'static', accessKey: 'ASIA1', sessionToken: 'IQoJb3JpZ2luX2VjE' });
    expect(envNames['store.s3.sessionToken']).toBe('AWS_SESSION_TOKEN');
    expect(() => resolveSettings({ file: { store: { s3: { sessionToken: 4242 } } } })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('4242') }));
  });

  it('reads the Kafka security settings by their FLTS_KAFKA_* names, in any case', () => {
    const { settings } = resolveSettings({
      env: { FLTS_KAFKA_SECURITY_PROTOCOL: 'sasl_ssl', FLTS_KAFKA_SASL_MECHANISM: 'scram-sha-512', FLTS_KAFKA_SASL_USERNAME: 'svc', FLTS_KAFKA_SASL_PASSWORD: 'pw', FLTS_KAFKA_SSL_CA_FILE: ' /etc/flts/tls/ca.crt ', FLTS_KAFKA_SSL_INSECURE_SKIP_HOSTNAME_VERIFICATION: 'true', FLTS_S3_CA_FILE: '/etc/flts/tls/s3-ca.crt' },
    });
    expect(settings.bus.kafka).toMatchObject({ securityProtocol: 'SASL_SSL', sasl: { mechanism: 'SCRAM-SHA-512', username: 'svc', password: 'pw' }, ssl: { caFile: '/etc/flts/tls/ca.crt', certFile: '', keyFile: '', insecureSkipHostnameVerification: true } });
    expect(settings.store.s3.caFile).toBe('/etc/flts/tls/s3-ca.crt');
    expect(resolveSettings().settings.bus.kafka).toMatchObject({ securityProtocol: 'PLAINTEXT', sasl: { mechanism: '' } });
    expect(() => resolveSettings({ env: { FLTS_KAFKA_SECURITY_PROTOCOL: 'TLS' } })).toThrow(/FLTS_KAFKA_SECURITY_PROTOCOL.*"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"/);
    expect(() => resolveSettings({ env: { FLTS_KAFKA_SASL_MECHANISM: 'GSSAPI' } })).toThrow(/"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"/);
  });

  it('chooses static or aws credentials by FLTS_S3_CREDENTIALS and reads the standard AWS variables', () => {
    expect(resolveSettings().settings.store.s3.credentials).toBe('static');
    const { settings } = resolveSettings({
      env: {
        FLTS_S3_CREDENTIALS: ' AWS ', AWS_ROLE_ARN: 'arn:aws:iam::1:role/flts', AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token', AWS_ENDPOINT_URL_STS: 'https://sts.eu-west-1.amazonaws.com',
        AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials', AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token', AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    expect(settings.store.s3).toMatchObject({
      credentials: 'aws',
      aws: { roleArn: 'arn:aws:iam::1:role/flts', webIdentityTokenFile: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token', stsEndpoint: 'https://sts.eu-west-1.amazonaws.com', containerCredentialsFullUri: 'http://169.254.170.23/v1/credentials', containerAuthorizationTokenFile: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token', containerAuthorizationToken: '', imdsDisabled: true },
    });
    expect(resolveSettings({ env: { FLTS_S3_CREDENTIALS: '' } }).settings.store.s3.credentials).toBe('static');
    expect(() => resolveSettings({ env: { FLTS_S3_CREDENTIALS: 'irsa' } })).toThrow(/FLTS_S3_CREDENTIALS \(setting store.s3.credentials\) = "irsa" is not valid: expected one of "static", "aws"/);
    expect(() => resolveSettings({ env: { AWS_EC2_METADATA_DISABLED: 'maybe' } })).toThrow(/AWS_EC2_METADATA_DISABLED/);
  });

  it('rejects an unknown bus kind and never echoes the secret key', () => {
    expect(() => resolveSettings({ env: { FLTS_BUS: 'rabbit' } })).toThrow(/FLTS_BUS.*"none", "fs", "kafka"/);
    expect(() => resolveSettings({ file: { store: { s3: { secretKey: 42 } } } })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('42') }));
    expect(resolveSettings({ env: { MINIO_SECURE: 'true' } }).settings.store.s3.secure).toBe(true);
  });
});
