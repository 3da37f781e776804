import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The CPUs a container's CFS quota lets this process use, rounded up; undefined when no level of its cgroup sets a
 * quota, or when the files cannot be read (another system, no /proc). `fsRoot` is where `/proc` and `/sys` are found:
 * `/` but in tests. os.availableParallelism() counts the cores the process may be scheduled on (its cpuset) but not
 * its quota, so a pod limited to 2 CPUs on a 64-core node sees 64, and 64 threads get throttled to 2 CPUs' worth.
 */
export function cgroupCpuLimit(fsRoot = '/'): number | undefined {
  try {
    return readCpuLimit(fsRoot);
  } catch {
    return undefined;
  }
}

function readCpuLimit(fsRoot: string): number | undefined {
  const lines = readFileSync(path.join(fsRoot, 'proc/self/cgroup'), 'utf8').split('\n');
  const mount = path.join(fsRoot, 'sys/fs/cgroup');
  // hierarchy-id:controllers:path. The cpu controller sits on one hierarchy only: a v1 one when it is mounted there
  // (a hybrid host also lists the v2 line 0::), else the v2 one.
  const entries = lines.filter(Boolean).map((line) => {
    const [, controllers = '', ...rest] = line.split(':');
    return { controllers: controllers.split(','), controllerDir: controllers, cgroup: rest.join(':') };
  });
  const v1 = entries.find((entry) => entry.controllers.includes('cpu'));
  if (v1) {
    const dirs = [path.join(mount, v1.controllerDir), path.join(mount, 'cpu')];
    return tightest(dirs, v1.cgroup, (dir) => {
      const quota = Number(readFileSync(path.join(dir, 'cpu.cfs_quota_us'), 'utf8').trim());
      const period = Number(readFileSync(path.join(dir, 'cpu.cfs_period_us'), 'utf8').trim());
      return cpusOf(quota, period);
    });
  }
  const v2 = entries.find((entry) => entry.controllerDir === '' && entry.cgroup.startsWith('/'));
  if (!v2) return undefined;
  return tightest([mount], v2.cgroup, (dir) => {
    const [quota, period] = readFileSync(path.join(dir, 'cpu.max'), 'utf8').trim().split(/\s+/);
    return quota === 'max' ? undefined : cpusOf(Number(quota), Number(period));
  });
}

/** A quota of `quota` µs per `period` µs as whole CPUs, rounded up: with 1.5 CPUs one thread would leave half a CPU idle. -1 = none. */
function cpusOf(quota: number, period: number): number | undefined {
  if (!(quota > 0) || !(period > 0)) return undefined;
  return Math.max(1, Math.ceil(quota / period));
}

/**
 * The lowest limit from the process's cgroup up to the mount's root: a pod-level quota bounds the container's too.
 * Levels without the file are skipped: the host's root cgroup has none, and a container that sees its own cgroup as
 * the mount's root while /proc/self/cgroup names the host's path finds only the root level, which is its own.
 */
function tightest(mounts: readonly string[], cgroup: string, limitAt: (dir: string) => number | undefined): number | undefined {
  const mountRoot = mounts.find((dir) => statSync(dir, { throwIfNoEntry: false })?.isDirectory());
  if (mountRoot === undefined) return undefined;
  let lowest: number | undefined;
  for (let level = path.posix.normalize(cgroup); ; level = path.posix.dirname(level)) {
    let limit: number | undefined;
    try {
      limit = limitAt(path.join(mountRoot, level));
    } catch {
      limit = undefined;
    }
    if (limit !== undefined) lowest = Math.min(lowest ?? limit, limit);
    if (level === '/' || level === '.') return lowest;
  }
}

/** The CPUs a process may keep busy: `available` cores, or fewer when the cgroup quota gives fewer. */
export function cpuBudget(available: number, limit: number | undefined): number {
  return Math.max(1, limit === undefined ? available : Math.min(available, limit));
}

let cached: number | undefined;

/**
 * The CPUs this process may keep busy: os.availableParallelism(), or the container's CPU limit when lower (read once
 * from Linux's cgroup files; anywhere they cannot be read, the cores alone). What "auto" sizes thread and model counts by.
 */
export function usableCpus(): number {
  cached ??= cpuBudget(os.availableParallelism(), os.platform() === 'linux' ? cgroupCpuLimit() : undefined);
  return cached;
}
