import { readFileSync } from 'node:fs';
import os from 'node:os';
import { CLOCK_TICKS_PER_SECOND, procStatFields } from '../proc-stat.js';

/** utime + stime of a process in seconds, or undefined when it is gone or /proc is absent. */
export function processCpuSeconds(pid: number): number | undefined {
  const fields = procStatFields(pid);
  // utime and stime, fields 14 and 15.
  return fields && (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Resident memory of a process in MiB (VmRSS), or undefined when it is gone or /proc is absent. */
export function processRssMiB(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

function machineTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const t = cpu.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}

export interface CpuWindow {
  /** Ends the window: mean CPU per pid (percent of one core), this process's, and the machine's busy share. */
  stop(): { perPid: Map<number, number>; self: number; machine: number };
}

/** Measures CPU use of `pids`, of this process and of the machine between start and stop (like pidusage). */
export function startCpuWindow(pids: readonly number[]): CpuWindow {
  const startedAt = performance.now();
  const before = new Map(pids.map((pid) => [pid, processCpuSeconds(pid)]));
  const selfBefore = process.cpuUsage();
  const machineBefore = machineTimes();
  return {
    stop() {
      const seconds = (performance.now() - startedAt) / 1000;
      const perPid = new Map<number, number>();
      for (const pid of pids) {
        const start = before.get(pid);
        const end = processCpuSeconds(pid);
        if (start !== undefined && end !== undefined) perPid.set(pid, ((end - start) / seconds) * 100);
      }
      const self = process.cpuUsage(selfBefore);
      const machineAfter = machineTimes();
      const total = machineAfter.total - machineBefore.total;
      return {
        perPid,
        self: ((self.user + self.system) / 1e6 / seconds) * 100,
        machine: total > 0 ? ((machineAfter.busy - machineBefore.busy) / total) * 100 : 0,
      };
    },
  };
}
