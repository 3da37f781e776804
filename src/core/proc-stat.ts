import { readFileSync } from 'node:fs';

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
