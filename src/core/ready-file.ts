import { randomUUID } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from './logger.js';
import { TEMP_FILE_PREFIX } from './write-file-whole.js';

/** What a listening server says of itself in its ready file (instance.readyFile). */
export interface ReadyFileContents {
  command: 'serve' | 'daemon';
  /** Base URL of the HTTP server, as it listens (a wildcard host such as 0.0.0.0 included). */
  url: string;
  /** The liveness route of that server. */
  health_url: string;
  grpc_url?: string;
}

export interface ReadyFile {
  /** Removes the file (a stopped server is nowhere); never throws. */
  remove(): void;
}

const NO_FILE: ReadyFile = { remove: () => {} };

/**
 * Writes where a server listens to `file`, whole (a reader never sees half of it), before the server says it listens:
 * whoever reads that line finds the file. Written at once, not in turns, for the same reason; it is a few bytes, once.
 * The file is a convenience for health checks, which fall back to working the port out themselves: a file that cannot
 * be written is logged (`ready_file_unwritable`) and the server serves on.
 */
export function writeReadyFile(file: string, contents: ReadyFileContents, logger: Logger): ReadyFile {
  if (file === '') return NO_FILE;
  const temp = path.join(path.dirname(file), `${TEMP_FILE_PREFIX}${randomUUID()}`);
  try {
    writeFileSync(temp, `${JSON.stringify(contents)}\n`);
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    logger.warn({ file, err: (error as Error).message }, 'ready_file_unwritable');
    return NO_FILE;
  }
  return {
    remove: () => {
      try {
        rmSync(file, { force: true });
      } catch (error) {
        logger.warn({ file, err: (error as Error).message }, 'ready_file_not_removed');
      }
    },
  };
}
