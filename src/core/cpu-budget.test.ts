import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchFolders } from '../../test/helpers/scratch-folders.js';
import { cgroupCpuLimit, cpuBudget, usableCpus } from './cpu-budget.js';

const mkdtemp = scratchFolders();

/** A root holding `proc/self/cgroup` and, under `sys/fs/cgroup`, each file named (path relative to the mount). */
async function tree(procSelfCgroup: string, cgroupFiles: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'flts-cgroup-'));
  const files: Record<string, string> = { 'proc/self/cgroup': procSelfCgroup };
  for (const [file, text] of Object.entries(cgroupFiles)) files[path.join('sys/fs/cgroup', file)] = text;
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), `${text}\n`);
  }
  return root;
}

const POD = '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b.slice';
const CONTAINER = `${POD}/cri-containerd-3f4e.scope`;

describe('core > cpu-budget', () => {
  describe('cgroup v2 (cpu.max)', () => {
    it.each([
      ['max 100000', undefined],
      ['200000 100000', 2],
      ['150000 100000', 2],
      ['50000 100000', 1],
      ['400000 50000', 8],
    ])('reads cpu.max "%s" as %s CPUs', async (cpuMax, cpus) => {
      expect(cgroupCpuLimit(await tree('0::/\n', { 'cpu.max': cpuMax }))).toBe(cpus);
    });

    it('follows the path /proc/self/cgroup names and keeps the lowest quota of its levels', async () => {
      // The container's quota is the tighter one...
      expect(cgroupCpuLimit(await tree(`0::${CONTAINER}\n`, { [`${POD}/cpu.max`]: '400000 100000', [`${CONTAINER}/cpu.max`]: '200000 100000' }))).toBe(2);
      // ...or the pod's bounds a container without one of its own.
      expect(cgroupCpuLimit(await tree(`0::${CONTAINER}\n`, { [`${POD}/cpu.max`]: '300000 100000', [`${CONTAINER}/cpu.max`]: 'max 100000' }))).toBe(3);
      // A sibling's quota is none of this process's business.
      expect(cgroupCpuLimit(await tree(`0::${CONTAINER}\n`, { [`${CONTAINER}/cpu.max`]: 'max 100000', [`${POD}/other.scope/cpu.max`]: '100000 100000' }))).toBeUndefined();
    });

    it("reads the mount's root when the named path is the host's and the container sees its own cgroup there", async () => {
      expect(cgroupCpuLimit(await tree(`0::${CONTAINER}\n`, { 'cpu.max': '200000 100000' }))).toBe(2);
    });
  });

  describe('cgroup v1 (cpu.cfs_quota_us / cpu.cfs_period_us)', () => {
    it('reads no limit from a quota of -1', async () => {
      expect(cgroupCpuLimit(await tree('4:cpu,cpuacct:/\n0::/\n', { 'cpu,cpuacct/cpu.cfs_quota_us': '-1', 'cpu,cpuacct/cpu.cfs_period_us': '100000' }))).toBeUndefined();
    });

    it('reads the quota of the cpu hierarchy, named with its co-mounted controllers or alone, at the nested path', async () => {
      const nested = '/kubepods/burstable/pod1a2b/3f4e';
      expect(cgroupCpuLimit(await tree(`11:memory:/x\n4:cpu,cpuacct:${nested}\n`, { [`cpu,cpuacct${nested}/cpu.cfs_quota_us`]: '150000', [`cpu,cpuacct${nested}/cpu.cfs_period_us`]: '100000' }))).toBe(2);
      // Hybrid: the cpu controller on v1 wins over the 0:: line.
      expect(cgroupCpuLimit(await tree(`2:cpuacct:/\n1:cpu:${nested}\n0::/\n`, { [`cpu${nested}/cpu.cfs_quota_us`]: '100000', [`cpu${nested}/cpu.cfs_period_us`]: '100000', 'cpu.max': '800000 100000' }))).toBe(1);
      // The pod's level bounds the container's unlimited one.
      expect(
        cgroupCpuLimit(
          await tree(`4:cpu,cpuacct:${nested}\n`, {
            [`cpu,cpuacct${nested}/cpu.cfs_quota_us`]: '-1',
            [`cpu,cpuacct${nested}/cpu.cfs_period_us`]: '100000',
            'cpu,cpuacct/kubepods/burstable/pod1a2b/cpu.cfs_quota_us': '300000',
            'cpu,cpuacct/kubepods/burstable/pod1a2b/cpu.cfs_period_us': '100000',
          }),
        ),
      ).toBe(3);
    });

    it("reads the mount's root when the container sees its own cgroup there (Docker's /docker/<id>)", async () => {
      expect(cgroupCpuLimit(await tree('4:cpu,cpuacct:/docker/3f4e\n', { 'cpu,cpuacct/cpu.cfs_quota_us': '200000', 'cpu,cpuacct/cpu.cfs_period_us': '100000' }))).toBe(2);
    });
  });

  it('reads no limit where the files are missing or say nothing it understands', async () => {
    expect(cgroupCpuLimit(path.join(await mkdtemp(path.join(os.tmpdir(), 'flts-cgroup-')), 'nothing'))).toBeUndefined();
    expect(cgroupCpuLimit(await tree('0::/\n', {}))).toBeUndefined();
    expect(cgroupCpuLimit(await tree('0::/\n', { 'cpu.max': 'garbage' }))).toBeUndefined();
    expect(cgroupCpuLimit(await tree('0::/\n', { 'cpu.max': '0 100000' }))).toBeUndefined();
  });

  it('budgets the cores, or the limit when it is lower', () => {
    expect(cpuBudget(64, 2)).toBe(2);
    expect(cpuBudget(2, 8)).toBe(2);
    expect(cpuBudget(64, undefined)).toBe(64);
  });

  it("budgets this process's CPUs from its own cgroup, never more than the cores", () => {
    expect(usableCpus()).toBe(cpuBudget(os.availableParallelism(), os.platform() === 'linux' ? cgroupCpuLimit() : undefined));
    expect(usableCpus()).toBeLessThanOrEqual(os.availableParallelism());
  });
});
