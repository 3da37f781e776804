import os from 'node:os';
import path from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scratchFolders } from '../../../test/helpers/scratch-folders.js';
import { defaultSettings } from '../config/settings.js';
import { cgroupCpuLimit, cpuBudget } from '../cpu-budget.js';
import { modelsAtOnce } from './train.js';

const mkdtemp = scratchFolders();

function withParallelModels(parallelModels: number) {
  const settings = defaultSettings();
  return { ...settings, training: { ...settings.training, parallelModels } };
}

/** The CPUs a process on a 64-core node sees under a cgroup v2 quota of `cpuMax`. */
async function onLargeNode(cpuMax: string): Promise<() => number> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'flts-cgroup-'));
  mkdirSync(path.join(root, 'proc/self'), { recursive: true });
  mkdirSync(path.join(root, 'sys/fs/cgroup'), { recursive: true });
  writeFileSync(path.join(root, 'proc/self/cgroup'), '0::/\n');
  writeFileSync(path.join(root, 'sys/fs/cgroup/cpu.max'), `${cpuMax}\n`);
  return () => cpuBudget(64, cgroupCpuLimit(root));
}

describe('workflows > modelsAtOnce', () => {
  it('trains one model per usable CPU on auto: the CPU limit, not the node\'s cores', async () => {
    const auto = withParallelModels(0);
    expect(modelsAtOnce(auto, 8, await onLargeNode('100000 100000'))).toBe(1);
    expect(modelsAtOnce(auto, 8, await onLargeNode('300000 100000'))).toBe(3);
    expect(modelsAtOnce(auto, 8, await onLargeNode('150000 100000'))).toBe(2);
    // No limit: the cores, never more models than types.
    expect(modelsAtOnce(auto, 8, await onLargeNode('max 100000'))).toBe(8);
  });

  it('keeps a configured count whatever the CPUs', async () => {
    expect(modelsAtOnce(withParallelModels(4), 8, await onLargeNode('100000 100000'))).toBe(4);
    expect(modelsAtOnce(withParallelModels(4), 3, await onLargeNode('100000 100000'))).toBe(3);
  });
});
