import { describe, expect, it } from 'vitest';
import { isolatedStack } from './isolated-stack.js';
import { defaultSettings, resolveSettings } from './settings.js';

describe('core > config > isolated-stack', () => {
  it('gives every written bucket, every topic and every consumer group the stack prefix', () => {
    const stack = isolatedStack('Bench');
    expect(stack.prefix).toMatch(/^bench-[0-9a-f]{6}$/);
    const { settings } = resolveSettings({ env: stack.env });
    const { dataset, ...written } = settings.store.buckets;
    expect(dataset).toBe(defaultSettings().store.buckets.dataset);
    const names = [...Object.values(written), ...Object.values(settings.bus.topics), ...Object.values(settings.bus.groups)];
    expect(names.length).toBeGreaterThan(10);
    for (const value of names) expect(value).toMatch(new RegExp(`^${stack.prefix}-`));
  });

  it('names two stacks of the same name apart', () => {
    const [a, b] = [isolatedStack('t'), isolatedStack('t')];
    expect(a.prefix).not.toBe(b.prefix);
    expect(Object.values(a.env).filter((value) => Object.values(b.env).includes(value))).toEqual([]);
  });
});
