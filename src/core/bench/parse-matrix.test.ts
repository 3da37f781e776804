import { describe, expect, it } from 'vitest';
import { forgetSecrets, redactSecrets } from '../redact.js';
import { checkGrpcTarget, maxReplicasFor, parseCompareFlag, parseCountList, parseDurationSeconds, parseEngineList, parseProtocolList, parseReplicaList, parseTargetUrl } from './parse-matrix.js';

describe('core > bench > parse-matrix', () => {
  it('takes a duration of up to a day and refuses a longer one, which a timer could not hold', () => {
    expect(parseDurationSeconds('1440m', 'duration')).toBe(86_400);
    expect(parseDurationSeconds('500ms', 'duration')).toBe(0.5);
    for (const text of ['1441m', '30000m', '9007199254740993s', '0s']) {
      expect(() => parseDurationSeconds(text, 'duration')).toThrow(expect.objectContaining({ code: 'FLTS_USAGE_INVALID_FLAG', message: expect.stringContaining('at most 1440m') }));
    }
  });

  it('takes a warmup of zero in any unit as none, and still refuses a zero load', () => {
    for (const text of ['0', '0s', '0ms', '0m', ' 0.0s ']) expect(parseDurationSeconds(text, 'warmup', { allowZero: true })).toBe(0);
    expect(parseDurationSeconds('2s', 'warmup', { allowZero: true })).toBe(2);
    for (const text of ['-1s', 'abc', '1441m']) expect(() => parseDurationSeconds(text, 'warmup', { allowZero: true })).toThrow(expect.objectContaining({ code: 'FLTS_USAGE_INVALID_FLAG', message: expect.stringContaining('0 (none)') }));
    expect(() => parseDurationSeconds('0', 'duration')).toThrow(/positive duration/);
  });

  it('bounds connection and replica counts', () => {
    expect(parseCountList('16,4096', 'connections')).toEqual([16, 4096]);
    expect(() => parseCountList('1000000000', 'connections')).toThrow(expect.objectContaining({ code: 'FLTS_USAGE_INVALID_FLAG', message: expect.stringContaining('from 1 to 4096') }));
    expect(() => parseCountList('65', 'replicas', 64)).toThrow(/from 1 to 64/);
  });

  it('refuses an empty, zero, negative, fractional, non-decimal or repeated count instead of reading past it', () => {
    expect(parseCountList(' 1, 2 ,4', 'replicas', 64)).toEqual([1, 2, 4]);
    const refused = { '1,,2': '""', '1,2,': '""', ',1': '""', '': 'got nothing', '1,0': '"0"', '-1': '"-1"', '1,-2': '"-2"', '1.5': '"1.5"', '2.0': '"2.0"', '0x10': '"0x10"', '1e1': '"1e1"', 'two': '"two"', '1,2,1': '1 is given twice', '4,04': '4 is given twice' };
    for (const [text, named] of Object.entries(refused)) {
      expect(() => parseCountList(text, 'replicas', 64), text).toThrow(expect.objectContaining({ code: 'FLTS_USAGE_INVALID_FLAG', kind: 'usage', details: expect.objectContaining({ flag: 'replicas', value: text }) }));
      if (named !== '""') expect(() => parseCountList(text, 'replicas', 64), text).toThrow(named);
    }
    expect(() => parseCountList('1,,2', 'replicas', 64)).toThrow('an entry is empty in "1,,2"');
  });

  it('refuses an empty or repeated --protocol, --engine or --compare entry as --replicas does, instead of reading past it', () => {
    // Before, "http," and "http,http" ran as http, "onnx,ONNX" as onnx, and "X=a,,b" and "X=a,a" as X=a,b and X=a.
    expect(parseProtocolList(' http, oip-grpc ')).toEqual(['http', 'oip-grpc']);
    expect(parseEngineList('onnx,WASM').map((variant) => variant.env)).toEqual([{ FLTS_SERVE_ENGINE: 'onnx' }, { FLTS_SERVE_ENGINE: 'wasm' }]);
    expect(parseCompareFlag('FLTS_LIVE_SCORING=false, true').map((variant) => variant.label)).toEqual(['FLTS_LIVE_SCORING=false', 'FLTS_LIVE_SCORING=true']);
    expect(parseCompareFlag('A=1,2=3').map((variant) => variant.env)).toEqual([{ A: '1' }, { A: '2=3' }]);
    const refusals: Array<[() => unknown, string, string]> = [
      [() => parseProtocolList('http,'), 'protocol', 'an entry is empty in "http,"'],
      [() => parseProtocolList('http,,oip-http'), 'protocol', 'an entry is empty'],
      [() => parseProtocolList('http,http'), 'protocol', '"http" is given twice'],
      [() => parseProtocolList('http,smtp'), 'protocol', '"smtp" is not one'],
      [() => parseProtocolList(''), 'protocol', 'got nothing'],
      [() => parseEngineList('onnx,ONNX'), 'engine', '"ONNX" is given twice'],
      [() => parseEngineList(',wasm'), 'engine', 'an entry is empty'],
      [() => parseEngineList('tpu'), 'engine', '"tpu" is not one'],
      [() => parseCompareFlag('X=a,,b'), 'compare', 'an entry is empty in "a,,b"'],
      [() => parseCompareFlag('X=a,a'), 'compare', '"a" is given twice'],
      [() => parseCompareFlag('X='), 'compare', 'got nothing'],
      [() => parseCompareFlag('=a,b'), 'compare', 'got "=..."'],
      [() => parseCompareFlag('flts_serve_api_token=s3cret,b'), 'compare', 'got "flts_serve_api_token=..."'],
    ];
    for (const [parse, flag, said] of refusals) {
      expect(parse, said).toThrow(expect.objectContaining({ code: 'FLTS_USAGE_INVALID_FLAG', kind: 'usage', details: expect.objectContaining({ flag }) }));
      expect(parse, said).toThrow(said);
    }
  });

  it("never shows a secret setting's values compared: labels number them, refusals name the variable alone", () => {
    // Before, FLTS_SERVE_API_TOKEN=tok-a,tok-b labelled the cells, bench.md and bench.json with both tokens.
    expect(parseCompareFlag('FLTS_SERVE_API_TOKEN=tok-a,tok-b')).toEqual([
      { label: 'FLTS_SERVE_API_TOKEN=***1', env: { FLTS_SERVE_API_TOKEN: 'tok-a' }, apiToken: 'tok-a' },
      { label: 'FLTS_SERVE_API_TOKEN=***2', env: { FLTS_SERVE_API_TOKEN: 'tok-b' }, apiToken: 'tok-b' },
    ]);
    for (const text of ['FLTS_SERVE_API_TOKEN=tok-a,tok-a', 'FLTS_SERVE_API_TOKEN=tok-a,,tok-b']) {
      let refusal: unknown;
      try {
        parseCompareFlag(text);
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'compare', value: 'FLTS_SERVE_API_TOKEN=***' } });
      expect(JSON.stringify(refusal) + (refusal as Error).message).not.toContain('tok-');
    }
  });

  it('labels --compare values of a URL or a broker list without their credentials, told apart by place when that is all that differs', () => {
    // Before, MLFLOW_TRACKING_URI=http://u:pw1@h/,... labelled the log, the progress lines and bench.json/csv/svg with the passwords.
    expect(parseCompareFlag('MLFLOW_TRACKING_URI=http://u:pw1@h:5000/,http://u:p/w#2@h:5000/,http://h2:5000/').map((variant) => variant.label)).toEqual([
      'MLFLOW_TRACKING_URI=http://***@h:5000/ (1)',
      'MLFLOW_TRACKING_URI=http://***@h:5000/ (2)',
      'MLFLOW_TRACKING_URI=http://h2:5000/',
    ]);
    const brokers = parseCompareFlag('KAFKA_BOOTSTRAP_SERVERS=u:pw1@k1:9092,k2:9092');
    expect(brokers.map((variant) => variant.label)).toEqual(['KAFKA_BOOTSTRAP_SERVERS=***@k1:9092', 'KAFKA_BOOTSTRAP_SERVERS=k2:9092']);
    // The replicas still get the values as typed.
    expect(brokers[0].env).toEqual({ KAFKA_BOOTSTRAP_SERVERS: 'u:pw1@k1:9092' });
  });

  it('refuses --compare with a single value, which compares nothing, naming the flag and never a secret value', () => {
    // Before, "X=a" ran one group labelled as a comparison, and a second value left out went unnoticed.
    for (const [text, shown] of [['FLTS_LIVE_SCORING=true', 'FLTS_LIVE_SCORING=true'], ['FLTS_LIVE_SCORING= true ', 'FLTS_LIVE_SCORING=true'], ['FLTS_SERVE_API_TOKEN=tok-a', 'FLTS_SERVE_API_TOKEN=***']]) {
      let refusal: unknown;
      try {
        parseCompareFlag(text);
      } catch (error) {
        refusal = error;
      }
      expect(refusal, text).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', kind: 'usage', details: { flag: 'compare', value: shown } });
      expect((refusal as Error).message).toContain('--compare needs two or more values');
      expect(JSON.stringify(refusal) + (refusal as Error).message).not.toContain('tok-');
    }
  });

  it("sends each --compare group of FLTS_SERVE_API_TOKEN its own token, which its replicas require, and no other group one", () => {
    expect(parseCompareFlag('FLTS_SERVE_API_TOKEN=tok-a,tok-b').map((variant) => variant.apiToken)).toEqual(['tok-a', 'tok-b']);
    expect(parseCompareFlag('FLTS_LIVE_SCORING=false,true').map((variant) => 'apiToken' in variant)).toEqual([false, false]);
  });

  it('bounds --replicas by the CPUs of the machine: 4 per CPU, never under 8 (the default matrix) nor over 64', () => {
    expect([1, 2, 3, 16, 32, 0, Number.NaN].map(maxReplicasFor)).toEqual([8, 8, 12, 64, 64, 8, 8]);
    // Before, 64 replicas were started on any machine; on 2 CPUs they only take turns on the cores.
    expect(parseReplicaList('1,2,4,8', 2)).toEqual([1, 2, 4, 8]);
    expect(parseReplicaList('64', 16)).toEqual([64]);
    for (const [text, cpus, over, max] of [['9', 2, 9, 8], ['1,64', 2, 64, 8], ['13', 3, 13, 12]] as const) {
      expect(() => parseReplicaList(text, cpus), text).toThrow(expect.objectContaining({ code: 'FLTS_USAGE_INVALID_FLAG', kind: 'usage', details: expect.objectContaining({ flag: 'replicas', entry: String(over), max, cpus }) }));
      expect(() => parseReplicaList(text, cpus), text).toThrow(`--replicas ${over} is more than the ${cpus} CPUs usable here (the cores, or the container's CPU limit when lower) can run side by side: at most ${max}`);
    }
    // The list's own refusals come first, as before.
    expect(() => parseReplicaList('65', 64)).toThrow(/from 1 to 64/);
    expect(() => parseReplicaList('1,,2', 2)).toThrow('an entry is empty');
  });

  it('refuses a --grpc-target that is not host:port before the target is asked anything', () => {
    // Before, each reached the gRPC probe and ended as FLTS_BENCH_FAILED (internal, exit 1), "UNAVAILABLE".
    const target = 'http://127.0.0.1:8000';
    expect(checkGrpcTarget(' 127.0.0.1:8001 ', target, ['oip-grpc'])).toBe('127.0.0.1:8001');
    expect(checkGrpcTarget('[::1]:8001', target, ['oip-grpc'])).toBe('[::1]:8001');
    expect(checkGrpcTarget('serve.internal:443', target, ['oip-grpc'])).toBe('serve.internal:443');
    for (const bad of ['foo', '127.0.0.1:99999', '127.0.0.1:0', ':::', ':8001', 'http://127.0.0.1:8001', '127.0.0.1:-1', '127.0.0.1:NaN']) {
      expect(() => checkGrpcTarget(bad, target, ['oip-grpc']), bad).toThrow(expect.objectContaining({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'grpc-target', value: bad } }));
    }
  });

  it('takes an http or https --target and refuses anything else as a usage error', () => {
    expect(parseTargetUrl(' http://127.0.0.1:8000/ ')).toBe('http://127.0.0.1:8000/');
    expect(parseTargetUrl('https://serve.example')).toBe('https://serve.example');
    for (const bad of ['notaurl', '127.0.0.1:8000', 'localhost:8000', 'ftp://host/', '']) {
      expect(() => parseTargetUrl(bad)).toThrow(expect.objectContaining({ code: 'FLTS_USAGE_INVALID_FLAG', kind: 'usage' }));
    }
    expect(parseTargetUrl('http://gateway:8080/flts/')).toBe('http://gateway:8080/flts/');
    for (const bad of ['http://bob:hunter2@127.0.0.1:8000', 'http://bob@127.0.0.1:8000', 'http://127.0.0.1:8000/?x=1', 'http://127.0.0.1:8000/#top']) {
      let error: unknown;
      try {
        parseTargetUrl(bad);
      } catch (caught) {
        error = caught;
      }
      expect(error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', kind: 'usage', details: { flag: 'target' } });
      expect(JSON.stringify(error) + (error as Error).message).not.toContain('hunter2');
    }
  });

  it('knows the credentials a --target and a --compare of a secret carry as secrets: masked wherever they are quoted again', () => {
    try {
      expect(() => parseTargetUrl('http://bob:cnryTargetPw1@127.0.0.1:8000')).toThrow();
      parseCompareFlag('AWS_SECRET_ACCESS_KEY=cnryCompareA1,cnryCompareB2');
      parseCompareFlag('MLFLOW_TRACKING_URI=http://u:cnryUriPw3@h:5000,http://h:5000');
      // As a replica's relayed output or a library's error would quote them, with no URL around them.
      expect(redactSecrets('refused cnryTargetPw1, cnryCompareA1, cnryCompareB2 and cnryUriPw3')).toBe('refused ***, ***, *** and ***');
    } finally {
      forgetSecrets();
    }
  });
});
