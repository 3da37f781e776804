import { isUtf8 } from 'node:buffer';
import { rememberSecretsOfEnv } from '../core/config/settings.js';
import { redactJsonLines, rememberSecrets } from '../core/redact.js';

type Write = NodeJS.WriteStream['write'];

/**
 * The chunk as masked text and the arguments after it, or the chunk as it was when nothing in it is masked or it is
 * bytes that are no UTF-8 text (an export's archive): written as they are.
 */
function maskedChunk(chunk: unknown, rest: unknown[]): [unknown, unknown[]] {
  if (typeof chunk === 'string') return [redactJsonLines(chunk), rest];
  if (!(chunk instanceof Uint8Array) || !isUtf8(chunk)) return [chunk, rest];
  const text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8');
  const shown = redactJsonLines(text);
  // A string in place of the bytes: an encoding given for them would now be read as the string's.
  return shown === text ? [chunk, rest] : [shown, typeof rest[0] === 'string' ? ['utf8', ...rest.slice(1)] : rest];
}

/**
 * `stream.write` through redactJsonLines: every chunk of text is masked of the secrets the process knows (its settings',
 * the credentials it fetched) and of userinfo and token parameters before it is written, whoever writes it: a command's
 * report, its --json document, oclif's own refusal quoting a flag's value, a worker thread's or a replica's relayed
 * output. An output path added later cannot forget the mask. A JSON document keeps its keys and numbers (only its
 * string values are masked), so that it still parses; bytes that are not UTF-8 are written as they are.
 */
export function maskWrites(stream: NodeJS.WriteStream): void {
  const write = stream.write as Write & { masked?: true };
  if (write.masked) return;
  const masked = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    const [shown, args] = maskedChunk(chunk, rest);
    return (write as (...args: unknown[]) => boolean).call(this, shown, ...args);
  };
  stream.write = Object.assign(masked, { masked: true as const }) as unknown as Write;
}

/** A flag whose name says it holds a secret: none of flts's does, so it is one typed by mistake (or meant for another tool). */
const SECRET_FLAG = /pass(word|wd|phrase)?|secret|token|credential|api-?key|access-?key|private-?key/i;

/**
 * The values of flags named as secrets (`--store-s3-secret-key=...`, `--mlflow-password x`), which oclif refuses as
 * unknown, quoting them: remembered as secrets, masked wherever they are quoted. The value is the flag's after `=`,
 * else the next word unless it is a flag itself.
 */
export function secretFlagValues(argv: readonly string[]): string[] {
  const values: string[] = [];
  const end = argv.indexOf('--');
  const words = end === -1 ? argv : argv.slice(0, end);
  for (const [index, word] of words.entries()) {
    const [, name, value] = /^--?([^=]+)(?:=(.*))?$/s.exec(word) ?? [];
    if (name === undefined || !SECRET_FLAG.test(name)) continue;
    const next = words[index + 1];
    if (value !== undefined) values.push(value);
    else if (next !== undefined && !next.startsWith('-')) values.push(next);
  }
  return values;
}

/**
 * stdout and stderr masked (maskWrites), from before oclif parses the command line, and the secrets the environment
 * and the command line give known from then on: a refusal printed before the settings resolve is masked of them too.
 */
export function maskStandardStreams(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = process.argv.slice(2)): void {
  rememberSecretsOfEnv(env);
  rememberSecrets(secretFlagValues(argv));
  maskWrites(process.stdout);
  maskWrites(process.stderr);
}
