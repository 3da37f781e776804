import { describe, expect, it } from 'vitest';
import { redactSecrets, redactValue } from './redact.js';

describe('core > redact', () => {
  it('masks URL userinfo and token-like query parameters, and nothing else', () => {
    expect(redactSecrets('http://user:pass@mlflow:5000/api')).toBe('http://***@mlflow:5000/api');
    expect(redactSecrets('MLflow server https://alice@host failed')).toBe('MLflow server https://***@host failed');
    expect(redactSecrets('http://host/x?token=abc&run=1&access_token=def')).toBe('http://host/x?token=***&run=1&access_token=***');
    expect(redactSecrets('s3://b/k?X-Amz-Signature=0123&X-Amz-Credential=AK/1')).toBe('s3://b/k?X-Amz-Signature=***&X-Amz-Credential=***');
    expect(redactSecrets('http://mlflow:5000/api/2.0?run_id=7')).toBe('http://mlflow:5000/api/2.0?run_id=7');
    expect(redactSecrets('rmse=0.5 at a@b.c')).toBe('rmse=0.5 at a@b.c');
  });

  it('masks user:password@ before a bare host:port, as an address list takes it, and leaves mail addresses and other @', () => {
    expect(redactSecrets('Kafka admin connect failed (brokers u:s3cr3t@127.0.0.1:9092): refused')).toBe('Kafka admin connect failed (brokers ***@127.0.0.1:9092): refused');
    expect(redactSecrets('["kafka1:9092","u:p@kafka2:9092"]')).toBe('["kafka1:9092","***@kafka2:9092"]');
    expect(redactSecrets('u:p@[::1]:9092, v:q@h:1')).toBe('***@[::1]:9092, ***@h:1');
    expect(redactSecrets('http://u:p@h:5000')).toBe('http://***@h:5000');
    for (const kept of ['mail bob@example.com', 'git@github.com:org/repo', 'runs:/abc/GRU', 'at 12:30 @ noon', 'model@2']) expect(redactSecrets(kept)).toBe(kept);
  });

  it('masks a password typed without percent-encoding whole: @, /, ?, # and a space in it', () => {
    // The URL parser reads userinfo up to the last @; / ? # make the URL invalid, and its refusal quotes it whole.
    expect(redactSecrets('http://u:p@ss@mlflow:5000/x')).toBe('http://***@mlflow:5000/x');
    expect(redactSecrets('MLFLOW_TRACKING_URI = "http://u:pa/ss@h:5000/" is not valid')).toBe('MLFLOW_TRACKING_URI = "http://***@h:5000/" is not valid');
    expect(redactSecrets('"http://u:p#s?s@h/" has a fragment')).toBe('"http://***@h/" has a fragment');
    expect(redactSecrets('http://u:pa ss@h:5000/')).toBe('http://***@h:5000/');
    expect(redactSecrets('= "http://u:pa ss@h:5000/" is not')).toBe('= "http://***@h:5000/" is not');
    expect(redactSecrets('item 1 of 1 = "u:pa/ss@127.0.0.1:9092" is not host:port')).toBe('item 1 of 1 = "***@127.0.0.1:9092" is not host:port');
    expect(redactSecrets('["u:p#s@k1:9092","v:p@q@k2:9092"]')).toBe('["***@k1:9092","***@k2:9092"]');
    expect(redactSecrets('item 1 of 1 = "u:p@" is not host:port')).toBe('item 1 of 1 = "***@" is not host:port');
    expect(redactValue(['u:p@', 'u:p@ x'])).toEqual(['***@', '***@ x']);
    expect(redactSecrets(`http://u:${'p'.repeat(5000)}@h/`)).toBe('http://***@h/');
    // Not credentials: a model alias URI, and a sentence that starts with a URL and ends with a mail address.
    for (const kept of ['models:/flts-site@champion', 'http://h:1/ is down, write to ops@example.org']) expect(redactSecrets(kept)).toBe(kept);
  });

  it('takes linear time on text of many schemes or colons without an @ (an error quoting a hostile value)', () => {
    // Userinfo running to the last @ before a space, unbounded, is quadratic: 2 s on 100,000 characters of a://, 30 s
    // on these 400,000, against 0.25 s bounded; the limit is far from both.
    for (const text of ['a://'.repeat(100_000), '=a:b'.repeat(100_000)]) {
      const started = performance.now();
      expect(redactSecrets(text)).toBe(text);
      expect(performance.now() - started).toBeLessThan(5_000);
    }
  });

  it('masks the secret parts of AWS credentials as their sources write them, JSON and XML', () => {
    const json = '{"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"wJalr/K7+x","Token":"IQoJb3\\"Jp","Expiration":"2030-01-01T00:00:00Z"}';
    expect(redactSecrets(json)).toBe('{"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"***","Token":"***","Expiration":"2030-01-01T00:00:00Z"}');
    expect(redactSecrets('answer: { "SessionToken" : "abc" }')).toBe('answer: { "SessionToken" : "***" }');
    const xml = '<Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s3cr3t</SecretAccessKey><SessionToken>tok</SessionToken></Credentials>';
    expect(redactSecrets(xml)).toBe('<Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>***</SecretAccessKey><SessionToken>***</SessionToken></Credentials>');
    expect(redactSecrets('Action=AssumeRoleWithWebIdentity&WebIdentityToken=eyJhbGci.x.y&RoleArn=arn')).toBe('Action=AssumeRoleWithWebIdentity&WebIdentityToken=***&RoleArn=arn');
    expect(redactSecrets('"model": "LSTM", <b>bold</b>')).toBe('"model": "LSTM", <b>bold</b>');
  });

  it('masks every string of a JSON value', () => {
    expect(redactValue({ uri: 'http://u:p@h', list: ['http://h?password=x'], n: 1 })).toEqual({ uri: 'http://***@h', list: ['http://h?password=***'], n: 1 });
  });
});
