import { readFileSync, readlinkSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ); 100 on every Linux this runs on. */
export const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The fields of /proc/<pid>/stat that follow the command name, so index 0 is the state (field 3 of proc(5)) and
 * field n is at index n - 3; undefined where /proc cannot say (another system, no such process). The command name
 * may itself hold spaces and parentheses, so the fields are counted from the last ')'.
 */
export function procStatFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
export function procStartTicks(pid: number): string | undefined {
  return procStatFields(pid)?.[19] || undefined;
}

let bootId: string | null | undefined;

/** This boot of this machine (Linux's boot id); undefined where the system does not say. */
export function currentBootId(): string | undefined {
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = null;
    }
  }
  return bootId ?? undefined;
}

/**
 * When process `pid` started, as `<boot id>:<start tick>`, from Linux's /proc; undefined where it cannot be read
 * (another system, no such process).
 */
export function processStartOf(pid: number): string | undefined {
  const boot = currentBootId();
  const startTicks = boot === undefined ? undefined : procStartTicks(pid);
  return startTicks ? `${boot}:${startTicks}` : undefined;
}

/** Whether a process `pid` runs now, as signal 0 tells: one this process may not signal (EPERM) runs too. */
export function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the process recorded as `pid`, started at `started` (processStartOf), is gone: its pid names no process
 * now, or one that started at another time (the pid used again, a container restarted in place). A pid this process
 * may not signal (EPERM) still runs.
 */
export function recordedProcessGone(pid: number, started: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  const now = processStartOf(pid);
  return now !== undefined && now !== started;
}

let pidNamespace: string | null | undefined;

/** This process's pid namespace, the inode /proc/self/ns/pid names; undefined where the system does not say. */
export function currentPidNamespace(): string | undefined {
  if (pidNamespace === undefined) {
    try {
      pidNamespace = /\[(\d+)\]$/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? null;
    } catch {
      pidNamespace = null;
    }
  }
  return pidNamespace ?? undefined;
}
