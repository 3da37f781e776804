import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from './logger.js';
import { currentPidNamespace, processRunning, processStartOf, recordedProcessGone } from './proc-stat.js';
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
 *
 * Only a ready file is ever replaced: a regular file holding the JSON of one. Anything else at the path (a config or
 * a CSV the setting was pointed at by mistake, a symlink, a FIFO, a device, an empty or cut-off file) is no server's:
 * it is left as it is, byte for byte, logged (`ready_file_foreign`, with the reason), and the server serves on without
 * a file. An empty or cut-off file never comes from a server either: the file is written beside the path, synced,
 * and only then put in place.
 */
export function writeReadyFile(file: string, contents: ReadyFileContents, logger: Logger): ReadyFile {
  if (file === '') return NO_FILE;
  const writer = thisWriter();
  const text = `${JSON.stringify({ ...contents, ...writer })}\n`;
  const temp = path.join(path.dirname(file), `${TEMP_FILE_PREFIX}${randomUUID()}`);
  try {
    writeSynced(temp, text);
    if (!linkedInPlace(temp, file)) {
      const found = foundAt(file);
      if (found.kind === 'foreign') {
        rmSync(temp, { force: true });
        logger.warn({ file, reason: found.reason }, 'ready_file_foreign');
        return NO_FILE;
      }
      if (found.kind === 'ready' && found.writer && heldByAnotherLiveProcess(found.writer)) {
        rmSync(temp, { force: true });
        logger.warn({ file, pid: found.writer.pid }, 'ready_file_taken');
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
        const found = foundAt(file);
        if (found.kind === 'ready' && found.writer?.token === writer.token) rmSync(file, { force: true });
      } catch (error) {
        logger.warn({ file, err: (error as Error).message }, 'ready_file_not_removed');
      }
    },
  };
}

/** `text` as the file `temp`, on the disk before it is linked in place: a power cut leaves it whole or not there. */
function writeSynced(temp: string, text: string): void {
  const fd = openSync(temp, 'wx');
  try {
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
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

/** What sits at a ready file's path: nothing, a ready file (its writer, unless an older flts recorded none), or else. */
type FoundAtPath = { kind: 'none' } | { kind: 'ready'; writer?: ReadyFileWriter } | { kind: 'foreign'; reason: string };

/**
 * What is at `file`. Only a regular file of a ready file's size is read: whatever else sits at the path is no server's
 * ready file, and reading it could block the server before it listens (a FIFO's open waits for a writer, out of reach
 * of SIGTERM, the event loop being blocked; a symlink to /dev/zero reads without end). A symlink is not followed.
 */
function foundAt(file: string): FoundAtPath {
  let text: string;
  try {
    text = readRegularFile(file, { noFollow: true, maxBytes: MAX_READY_FILE_BYTES });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'none' };
    // O_NOFOLLOW fails a symlink with ELOOP (EMLINK on some BSDs).
    if (code === 'ELOOP' || code === 'EMLINK') return { kind: 'foreign', reason: 'a symbolic link' };
    return { kind: 'foreign', reason: (error as Error).message };
  }
  if (text === '') return { kind: 'foreign', reason: 'an empty file' };
  const ready = parseReadyFile(text);
  return ready ? { kind: 'ready', writer: ready.writer } : { kind: 'foreign', reason: 'a file that is not a ready file (JSON with command, url and health_url)' };
}

/**
 * The ready file `text` holds, with its writer (none from an older flts, which recorded none); undefined when it holds
 * no ready file: not JSON, or JSON without the fields every ready file has had.
 */
export function parseReadyFile(text: string): { contents: ReadyFileContents; writer?: ReadyFileWriter } | undefined {
  let recorded: unknown;
  try {
    recorded = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (recorded === null || typeof recorded !== 'object' || Array.isArray(recorded)) return undefined;
  const { command, url, health_url: healthUrl, pid, token } = recorded as Partial<ReadyFileContents & ReadyFileWriter>;
  if ((command !== 'serve' && command !== 'daemon') || typeof url !== 'string' || typeof healthUrl !== 'string') return undefined;
  const contents = recorded as ReadyFileContents;
  return Number.isSafeInteger(pid) && typeof token === 'string' ? { contents, writer: recorded as ReadyFileWriter } : { contents };
}

/**
 * Whether `holder` is a process other than this one and still runs. Its pid alone does not tell: in a container
 * restarted after a SIGKILL, the file of the previous pid 1 names the pid of the new one. The time the process
 * started, on this boot, tells (recordedProcessGone, as the fs bus's topic lock and a run's owner are judged); a
 * process this one may not signal, or whose /proc entry it cannot read (hidepid), still runs.
 *
 * A holder in another pid namespace counts as gone, where a lease or a topic lock counts it unknown: those fall back
 * on their age (a lease unchanged for daemon.leaseStaleMs, a lock older than its bound), but a ready file is written
 * once and never again, so unknown would be for ever. An earlier run of this container (restarted in place, its /tmp
 * kept, in a new pid namespace) would then never write its file again. Two containers given one file on a shared
 * volume each take it as they start, which is why the setting asks for a file per container (and why the image's
 * health check reads no file of another namespace).
 */
function heldByAnotherLiveProcess(holder: ReadyFileWriter): boolean {
  if (holder.pid === process.pid || holder.pid <= 0) return false;
  if (holder.pid_namespace !== currentPidNamespace()) return false;
  if (holder.process_start !== undefined) return !recordedProcessGone(holder.pid, holder.process_start);
  return processRunning(holder.pid);
}
