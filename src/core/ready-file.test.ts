import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from './logger.js';
import { writeReadyFile } from './ready-file.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flts-ready-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function warnings(): { logger: Logger; seen: string[] } {
  const seen: string[] = [];
  const logger = { info: () => {}, warn: (_fields: object, msg: string) => void seen.push(msg), error: () => {}, debug: () => {}, child: () => logger } as unknown as Logger;
  return { logger, seen };
}

describe('core > ready-file', () => {
  it('writes where the server listens, leaves no temporary file beside it, and removes it', () => {
    const file = path.join(dir, 'ready.json');
    const { logger, seen } = warnings();
    const ready = writeReadyFile(file, { command: 'serve', url: 'http://0.0.0.0:8000', health_url: 'http://0.0.0.0:8000/healthz' }, logger);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ command: 'serve', url: 'http://0.0.0.0:8000', health_url: 'http://0.0.0.0:8000/healthz' });
    expect(readdirSync(dir)).toEqual(['ready.json']);
    ready.remove();
    expect(existsSync(file)).toBe(false);
    expect(seen).toEqual([]);
  });

  it('serves on without a file it cannot write, saying so once', () => {
    const { logger, seen } = warnings();
    const ready = writeReadyFile(path.join(dir, 'missing-folder', 'ready.json'), { command: 'daemon', url: 'http://127.0.0.1:9100', health_url: 'http://127.0.0.1:9100/healthz' }, logger);
    ready.remove();
    expect(seen).toEqual(['ready_file_unwritable']);
    expect(readdirSync(dir)).toEqual([]);
  });
});
