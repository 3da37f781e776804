import { afterEach, describe, expect, it } from 'vitest';
import { credentialsIn, forgetSecrets, maskingValues, redactJsonLines, redactSecrets, redactValue, rememberFetchedSecrets, rememberSecrets, WHOLE_TOKEN_BELOW } from './redact.js';

describe('core > redact', () => {
  afterEach(() => forgetSecrets());

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

  it('masks whole a password holding both a space and a slash, in a URL or a broker, quoted or the whole value', () => {
    // The userinfo of a word stopped at the space, and a whole value's at the slash: "pa ss/x" was shown.
    expect(redactSecrets('MLFLOW_TRACKING_URI = "http://u:pa ss/x@h:5000/" is not valid')).toBe('MLFLOW_TRACKING_URI = "http://***@h:5000/" is not valid');
    expect(redactSecrets('http://u:pa ss/x@h:5000/')).toBe('http://***@h:5000/');
    expect(redactSecrets('item 1 of 1 = "u:pa ss/x@127.0.0.1:9092" is not host:port')).toBe('item 1 of 1 = "***@127.0.0.1:9092" is not host:port');
    expect(redactSecrets('u:pa ss/x@k1:9092')).toBe('***@k1:9092');
    // As a log line carries it: a quoted value inside a JSON string.
    expect(redactSecrets(JSON.stringify({ err: '= "http://u:pa ss/x@h/" is not valid' }))).toBe(JSON.stringify({ err: '= "http://***@h/" is not valid' }));
    // A URL with a port and then a sentence is none, nor a colon and a space before a mail address.
    for (const kept of ['http://h:1/ is down, write to ops@example.org', '"http://h/ down: see x/y, ops@example.org"', 'note: see a/b, ops@example.org', '12:30 /x @noon']) expect(redactSecrets(kept)).toBe(kept);
  });

  it('masks whole a password of 2,000 characters holding / ? # @, in a URL and in a broker list', () => {
    // Bounded at 1,024 characters for linear time, the userinfo ended at an @ inside the password: its tail was shown.
    const password = `p${'ab/cd?ef#gh@'.repeat(166)}tail`;
    expect(password.length).toBeGreaterThan(1_990);
    expect(redactSecrets(`connect to http://u:${password}@h:5000/x failed`)).toBe('connect to http://***@h:5000/x failed');
    expect(redactSecrets(`= "http://u:${password}@h:5000/" is not valid`)).toBe('= "http://***@h:5000/" is not valid');
    expect(redactSecrets(`brokers u:${password}@k1:9092, k2:9092`)).toBe('brokers ***@k1:9092, k2:9092');
    expect(redactSecrets(`["u:${password}@k1:9092"]`)).toBe('["***@k1:9092"]');
  });

  it('masks the values it was given in every form they travel in, longest first', () => {
    const token = 'tok "en"/é?x';
    rememberSecrets([token, 'tok', 'tok "en"']);
    const forms = [token, JSON.stringify(token).slice(1, -1), encodeURIComponent(token), encodeURI(token), Buffer.from(token).toString('base64')];
    for (const form of forms) expect(redactSecrets(`sent ${form}.`)).toBe('sent ***.');
    // Too short to mask without garbling text: "tok" stays.
    expect(redactSecrets('a tok of')).toBe('a tok of');
    expect(redactValue({ deep: [`tok "en"`] })).toEqual({ deep: ['***'] });
  });

  it('masks a short secret (a common word given as a password) only as a whole token, a long one anywhere', () => {
    rememberSecrets(['admin', 'model', 'Xk29qLw0pZr7']);
    expect('Xk29qLw0pZr7'.length).toBeGreaterThanOrEqual(WHOLE_TOKEN_BELOW);
    // Inside other words and identifiers, the short ones are left: the messages stay readable.
    for (const kept of ['ask the administrator', 'models:/flts-site@champion', 'model_loaded', 'event serve_model_ready, models 3', 'sysadmin1']) expect(redactSecrets(kept)).toBe(kept);
    // Whole, wherever they go out: a sentence, a URL's userinfo, a header, a quoted value, a JSON line's value.
    expect(redactSecrets('password admin refused')).toBe('password *** refused');
    expect(redactSecrets('Authorization: Basic admin, "model".')).toBe('Authorization: Basic ***, "***".');
    expect(redactSecrets(`sent ${Buffer.from('admin').toString('base64')}`)).toBe('sent ***');
    expect(redactJsonLines('{"msg":"model_loaded","err":"token model at models/x"}')).toBe('{"msg":"model_loaded","err":"token *** at models/x"}');
    expect(redactSecrets('admin admin,admin')).toBe('*** ***,***');
    // A long one is no word: masked inside others too.
    expect(redactSecrets('tokenXk29qLw0pZr7suffix and Xk29qLw0pZr7')).toBe('token***suffix and ***');
    // The same rule for the values of one call.
    expect(maskingValues(['model'])('model_type model')).toBe('model_type ***');
  });

  it('masks the credential of an Authorization header a message quotes, and leaves the placeholders hints write', () => {
    expect(redactSecrets("request failed: { authorization: 'Bearer eyJ.abc.def', accept: 'json' }")).toBe("request failed: { authorization: 'Bearer ***', accept: 'json' }");
    expect(redactSecrets('denied GET / authorization=Basic dXNlcjpwYXNz')).toBe('denied GET / authorization=Basic ***');
    expect(redactSecrets('Proxy-Authorization: tok3n-value, then')).toBe('Proxy-Authorization: ***, then');
    expect(redactJsonLines('{"headers":{"Authorization":"Bearer abc","host":"h"}}')).toBe('{"headers":{"Authorization":"***","host":"h"}}');
    for (const kept of ['send an Authorization: Bearer <token> header', 'as `Authorization: Bearer <token>`', 'Authorization: Bearer', 'the Authorization header is missing']) expect(redactSecrets(kept)).toBe(kept);
  });

  it('keeps the settings\' secrets however many fetched ones come and go', () => {
    rememberSecrets(['settings-secret-value']);
    for (let index = 0; index < 100; index++) rememberFetchedSecrets([`fetched-session-${index}-tok`]);
    expect(redactSecrets('settings-secret-value fetched-session-99-tok')).toBe('*** ***');
    // The oldest fetched ones (expired credentials) are forgotten: a renewed role does not grow the set without end.
    expect(redactSecrets('fetched-session-0-tok')).toBe('fetched-session-0-tok');
  });

  it('finds the credentials an address carries, for the values to remember', () => {
    expect(credentialsIn('http://u:pa ss/x@h:5000/')).toEqual(expect.arrayContaining(['u:pa ss/x', 'pa ss/x']));
    expect(credentialsIn('u:p%40ss@k1:9092,k2:9092')).toEqual(expect.arrayContaining(['p%40ss', 'p@ss']));
    expect(credentialsIn('http://h:5000/')).toEqual([]);
  });

  it('takes linear time on text of many schemes or colons without an @ (an error quoting a hostile value)', () => {
    // Userinfo running to the last @ before a space, unbounded, is quadratic: 2 s on 100,000 characters of a://, 30 s
    // on these 400,000, against 0.25 s bounded; the limit is far from both.
    for (const text of ['a://'.repeat(100_000), '=a:b'.repeat(100_000), 'a.'.repeat(200_000), '"a:b c'.repeat(100_000), '"a://b c'.repeat(100_000)]) {
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

  it('masks the string values of JSON lines only, each unescaped, and leaves keys, numbers, literals and other lines as they were', () => {
    rememberSecrets(['1701', 'null', 'q"t\\x']);
    const line = `${JSON.stringify({ time: 1701701701701, n1701: 'a1701b', ok: null, list: [1701, '1701'], quoted: 'say q"t\\x', url: 'http://h/x?token=ab\\"c', SessionToken: 'plain', key: 'u:p@h' })}\n`;
    const masked = redactJsonLines(line + line);
    expect(masked.endsWith('\n')).toBe(true);
    const lines = masked.trim().split('\n').map((text) => JSON.parse(text) as unknown);
    expect(lines).toEqual([0, 1].map(() => ({ time: 1701701701701, n1701: 'a1701b', ok: null, list: [1701, '***'], quoted: 'say ***', url: 'http://h/x?token=***"c', SessionToken: '***', key: '***@h' })));
    // The text masker, given the line, breaks it: the reason the logger uses redactJsonLines.
    expect(() => JSON.parse(redactSecrets(line))).toThrow();
    const untouched = '{"level":30,"time":1801,"msg":"request_served","route":"/predict"}\n';
    expect(redactJsonLines(untouched)).toBe(untouched);
    expect(redactJsonLines('{"a":"x","b":"no secret: user@example.org a=b"}')).toBe('{"a":"x","b":"no secret: user@example.org a=b"}');
    expect(redactJsonLines('sent 1701 to http://u:pw@h/')).toBe('sent *** to http://***@h/');
    expect(redactJsonLines('{"a":"1701')).toBe('{"a":"***');
    expect(redactJsonLines('{"a":"\\x 1701"}')).toBe('{"a":"\\x ***"}');
  });
});
