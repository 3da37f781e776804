import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCertificates, readPrivateKey } from './tls-files.js';

const CA = { setting: 'bus.kafka.ssl.caFile', env: 'FLTS_KAFKA_SSL_CA_FILE' };

describe('core > tls-files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'flts-tls-files-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a named pipe, /dev/zero and a directory as a PEM file at once, instead of waiting for a writer or reading for ever', async () => {
    const pipe = path.join(dir, 'ca.pem');
    await promisify(execFile)('mkfifo', [pipe]);
    for (const file of [pipe, ...(existsSync('/dev/zero') ? ['/dev/zero'] : []), dir]) {
      expect(() => readCertificates(CA, file), file).toThrow(expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', message: expect.stringContaining('cannot be read: not a regular file') }));
      expect(() => readPrivateKey(CA, file), file).toThrow(expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE' }));
    }
  });
});
