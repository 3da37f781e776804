import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { forgetSecrets, rememberSecrets } from '../core/redact.js';
import { maskWrites, secretFlagValues } from './masked-stdio.js';

/** A stream keeping what reaches its own write, with the arguments it was given. */
function sink(): { stream: NodeJS.WriteStream; chunks: unknown[]; encodings: unknown[] } {
  const chunks: unknown[] = [];
  const encodings: unknown[] = [];
  const stream = new Writable({ write: (_chunk, _encoding, done) => done() }) as unknown as NodeJS.WriteStream;
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    chunks.push(chunk);
    encodings.push(rest[0]);
    return write(chunk, ...rest);
  }) as NodeJS.WriteStream['write'];
  return { stream, chunks, encodings };
}

describe('cli > masked stdio', () => {
  afterEach(() => forgetSecrets());

  it('masks every text written, strings and UTF-8 bytes, whoever writes it', () => {
    rememberSecrets(['cnrySecretValue9', 'admin']);
    const { stream, chunks } = sink();
    maskWrites(stream);
    stream.write('Error FLTS_STORE_UNAVAILABLE: refused cnrySecretValue9 at http://u:pw@h:1/\n');
    stream.write(Buffer.from('relayed: admin said cnrySecretValue9\n'));
    expect(chunks).toEqual(['Error FLTS_STORE_UNAVAILABLE: refused *** at http://***@h:1/\n', 'relayed: *** said ***\n']);
  });

  it('keeps a JSON document JSON: string values masked, keys and numbers as they were', () => {
    rememberSecrets(['1701']);
    const { stream, chunks } = sink();
    maskWrites(stream);
    const document = JSON.stringify({ status: 'error', error: { code: 'FLTS_STORE_UNAVAILABLE', message: 'port 1701 refused', details: { port: 1701 } } }, null, 2);
    stream.write(document);
    expect(JSON.parse(chunks[0] as string)).toEqual({ status: 'error', error: { code: 'FLTS_STORE_UNAVAILABLE', message: 'port *** refused', details: { port: 1701 } } });
  });

  it('writes bytes that are no text, and text without a secret, as they were, with their encoding and callback', async () => {
    rememberSecrets(['cnrySecretValue9']);
    const { stream, chunks, encodings } = sink();
    maskWrites(stream);
    maskWrites(stream);
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    stream.write(binary);
    const plain = Buffer.from('no secret here\n');
    await new Promise<void>((resolve) => stream.write(plain, 'utf8', () => resolve()));
    const secret = Buffer.from('cnrySecretValue9');
    await new Promise<void>((resolve) => stream.write(secret, () => resolve()));
    expect(chunks[0]).toBe(binary);
    expect(chunks[1]).toBe(plain);
    expect(encodings[1]).toBe('utf8');
    expect(chunks[2]).toBe('***');
    expect(chunks).toHaveLength(3);
  });

  it('takes the values of flags named as secrets, after = or as the next word, up to --', () => {
    expect(secretFlagValues(['train', '--store-s3-secret-key=a=b', '--mlflow-password', 'pw word', '--api-key', '--json', '--model', 'LSTM', '--', '--token=x'])).toEqual(['a=b', 'pw word']);
    expect(secretFlagValues(['train', '--model', 'LSTM', '--config-hash', 'abc', '--identifier', 'x'])).toEqual([]);
  });
});
