import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { listenForStop, unlessStoppedMeanwhile, untilSignalled } from './stop-signals.js';

const stopped = (signal: NodeJS.Signals, writes: string): Error => new Error(`stopped by ${signal} (${writes})`);
const listening = (): number[] => [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];

describe('cli > stop-signals > untilSignalled', () => {
  it('leaves nothing behind once its work is done: no signal listener, no wait on the signal it handed over', async () => {
    const before = listening();
    let handed: AbortSignal | undefined;
    const result = await untilSignalled(stopped, async (signal) => {
      handed = signal;
      expect(listening()).toEqual([before[0] + 1, before[1] + 1]);
      return 42;
    });
    expect(result).toBe(42);
    expect(listening()).toEqual(before);
    expect(getEventListeners(handed!, 'abort')).toEqual([]);
  });

  it('ends what a failed work still waits on with its signal, rather than leave it waiting until the process exits', async () => {
    let leftWaiting: 'waiting' | 'ended' = 'waiting';
    const failure = new Error('the store refused');
    const ran = untilSignalled(stopped, (signal) =>
      Promise.all([
        // A branch that waits for as long as the signal lets it, beside one that fails.
        new Promise<void>((resolve) => signal.addEventListener('abort', () => ((leftWaiting = 'ended'), resolve()), { once: true })),
        Promise.reject(failure),
      ]),
    );
    await expect(ran).rejects.toBe(failure);
    expect(leftWaiting).toBe('ended');
  });

  it('ends at once with the stop\'s error on a signal, aborting the work with it, and stops listening', async () => {
    const before = listening();
    let handed: AbortSignal | undefined;
    const ran = untilSignalled(stopped, (signal) => {
      handed = signal;
      return new Promise<never>(() => {});
    });
    process.emit('SIGTERM', 'SIGTERM');
    await expect(ran).rejects.toThrow('stopped by SIGTERM (none)');
    expect(handed!.reason).toEqual(new Error('stopped by SIGTERM (none)'));
    expect(listening()).toEqual(before);
  });

  it('lets a write under way end before the stop, which then says it found the write under way', async () => {
    let finishWrite: () => void = () => {};
    let wrote = false;
    const ran = untilSignalled(stopped, async (_signal, uninterrupted) => {
      await uninterrupted(() => new Promise<void>((resolve) => (finishWrite = () => ((wrote = true), resolve()))));
      return 'done';
    });
    await new Promise((resolve) => setImmediate(resolve));
    process.emit('SIGINT', 'SIGINT');
    finishWrite();
    await expect(ran).rejects.toThrow('stopped by SIGINT (writing)');
    expect(wrote).toBe(true);
  });
});

describe('cli > stop-signals > unlessStoppedMeanwhile', () => {
  it('listens for a stop only while what it ends runs, and passes on its failure when no stop came first', async () => {
    const before = listening();
    let during: number[] = [];
    await expect(unlessStoppedMeanwhile(async () => void (during = listening()))).resolves.toBeUndefined();
    expect(during).toEqual([before[0] + 1, before[1] + 1]);
    expect(listening()).toEqual(before);
    const failure = new Error('the store refused');
    await expect(unlessStoppedMeanwhile(() => Promise.reject(failure))).rejects.toBe(failure);
    expect(listening()).toEqual(before);
  });
});

describe('cli > stop-signals > listenForStop', () => {
  it('stops on the first signal, hurries the stop on the second, and leaves the third its default action', async () => {
    const before = listening();
    const stop = listenForStop();
    expect(listening()).toEqual([before[0] + 1, before[1] + 1]);
    process.emit('SIGTERM', 'SIGTERM');
    expect(await stop.stopped).toBe('SIGTERM');
    expect({ aborted: stop.signal.aborted, hurried: stop.hurried.aborted }).toEqual({ aborted: true, hurried: false });
    // Before, SIGTERM's listener was gone after the first (the second ended the process at once) and SIGINT's took one more.
    expect(listening()).toEqual([before[0] + 1, before[1] + 1]);
    process.emit('SIGINT', 'SIGINT');
    expect({ hurried: stop.hurried.aborted, by: stop.hurriedBy() }).toEqual({ hurried: true, by: 'SIGINT' });
    expect(listening()).toEqual(before);
  });
});
