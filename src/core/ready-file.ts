import { randomUUID } from 'node:crypto';
import { linkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from './logger.js';
import { currentPidNamespace, processStartOf } from './proc-stat.js';
import { readRegularFile } from './read-regular-file.js';
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

/** The writer of a ready file, as recorded in it beside its contents. */
export interface ReadyFileWriter {
  pid: number;
  /** When that process started (`<boot id>:<start tick>`, see processStartOf); absent where /proc cannot say. */
  process_start?: string;
  /** The pid namespace `pid` counts in; absent where /proc cannot say. */
  pid_namespace?: string;
  /** Random, one per file written: what tells this process's file from any other, a later one of its own pid included. */
  token: string;
}

export interface ReadyFile {
  /** Removes the file if it is still the one this process wrote (a stopped server is nowhere); never throws. */
  remove(): void;
}

const NO_FILE: ReadyFile = { remove: () => {} };

/**
 * Writes where a server listens to `file`, whole (a reader never sees half of it), before the server says it listens:
 * whoever reads that line finds the file. Written at once, not in turns, for the same reason; it is a few bytes, once.
 * The file is a convenience for health checks, which fall back to working the port out themselves: a file that cannot
 * be written is logged (`ready_file_unwritable`) and the server serves on.
 *
 * Two servers may be given one path (a `flts serve` run with `docker exec` beside the container's own, a daemon and a
 * serve sharing an env file). The file is the first one's while that process lives: the second logs
 * `ready_file_taken` and writes nothing, so the health check of the container keeps checking its own server. A file
 * whose writer is gone (killed before it could remove it) is replaced, also when its pid is in use again: the
 * process then started at another time (a restarted container's new pid 1). And a server removes the file only
 * while it holds what it wrote, never one another process has written since.
 */
export function writeReadyFile(file: string, contents: ReadyFileContents, logger: Logger): ReadyFile {
  if (file === '') return NO_FILE;
  const writer = thisWriter();
  const text = `${JSON.stringify({ ...contents, ...writer })}\n`;
  const temp = path.join(path.dirname(file), `${TEMP_FILE_PREFIX}${randomUUID()}`);
  try {
    writeFileSync(temp, text);
    if (!linkedInPlace(temp, file)) {
      const holder = writerOf(file);
      if (holder && heldByAnotherLiveProcess(holder)) {
        rmSync(temp, { force: true });
        logger.warn({ file, pid: holder.pid }, 'ready_file_taken');
        return NO_FILE;
      }
      renameSync(temp, file);
    }
  } catch (error) {
    rmSync(temp, { force: true });
    logger.warn({ file, err: (error as Error).message }, 'ready_file_unwritable');
    return NO_FILE;
  }
  return {
    remove: () => {
      try {
        if (writerOf(file)?.token === writer.token) rmSync(file, { force: true });
      } catch (error) {
        logger.warn({ file, err: (error as Error).message }, 'ready_file_not_removed');
      }
    },
  };
}

function thisWriter(): ReadyFileWriter {
  const started = processStartOf(process.pid);
  const namespace = currentPidNamespace();
  return { pid: process.pid, ...(started ? { process_start: started } : {}), ...(namespace ? { pid_namespace: namespace } : {}), token: randomUUID() };
}

/**
 * Puts `temp` in place as `file` when there is no file yet, so that of two servers starting together one has it, and
 * removes `temp`; false (temp kept) when a file is there already, or where the filesystem links no files.
 */
function linkedInPlace(temp: string, file: string): boolean {
  try {
    linkSync(temp, file);
  } catch {
    return false;
  }
  rmSync(temp, { force: true });
  return true;
}

/** Larger than any ready file written: a few hundred bytes. */
export const MAX_READY_FILE_BYTES = 64 * 1024;

/**
 * The text of `file` when it is a regular file of a ready file's size, undefined otherwise. Whatever else sits at the
 * path is no server's ready file, and reading it could block the server before it listens: a FIFO's open waits for a
 * writer (out of reach of SIGTERM, the event loop being blocked), and a symlink to /dev/zero reads without end. A
 * symlink is not followed: the file put in its place is renamed over the link, never written through it.
 */
function readyFileText(file: string): string | undefined {
  try {
    return readRegularFile(file, { noFollow: true, maxBytes: MAX_READY_FILE_BYTES });
  } catch {
    return undefined;
  }
}

/** The writer recorded in `file`; undefined when there is none, or the file is not one this version writes. */
function writerOf(file: string): ReadyFileWriter | undefined {
  const text = readyFileText(file);
  if (text === undefined) return undefined;
  let recorded: Partial<ReadyFileWriter> | null;
  try {
    recorded = JSON.parse(text) as Partial<ReadyFileWriter> | null;
  } catch {
    return undefined;
  }
  // JSON null parses too: read as an object, it threw, and the server wrote no file of its own.
  if (recorded === null || typeof recorded !== 'object' || !Number.isSafeInteger(recorded.pid) || typeof recorded.token !== 'string') return undefined;
  return recorded as ReadyFileWriter;
}

/**
 * Whether `holder` is a process other than this one and still runs. Its pid alone does not tell: in a container
 * restarted after a SIGKILL, the file of the previous pid 1 names the pid of the new one. The time the process
 * started, on this boot, tells; so does the pid namespace, another container's or an earlier run's, in which the pid
 * names nothing here: such a holder counts as gone, and the worst is the old behaviour of the file being replaced.
 */
function heldByAnotherLiveProcess(holder: ReadyFileWriter): boolean {
  if (holder.pid === process.pid || holder.pid <= 0) return false;
  if (holder.pid_namespace !== currentPidNamespace()) return false;
  const started = processStartOf(holder.pid);
  if (started !== undefined || holder.process_start !== undefined) return started === holder.process_start;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
