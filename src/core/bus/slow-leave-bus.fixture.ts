import type { MessageBus } from './message-bus.js';

/**
 * `bus` with every subscription's stop held until `releaseLeaves`, as a broker slow to take a group's leave holds a
 * follower's or companion's stop (up to bus.kafka.closeTimeoutMs): `leaveBegun` resolves once the first stop begins.
 */
export function slowLeaveBus(bus: MessageBus): { bus: MessageBus; leaveBegun: Promise<void>; releaseLeaves: () => void } {
  let leaving = (): void => {};
  const leaveBegun = new Promise<void>((resolve) => (leaving = resolve));
  const leaves: Array<() => void> = [];
  return {
    bus: {
      ...bus,
      subscribe: async (...args) => {
        const subscription = await bus.subscribe(...args);
        return { ...subscription, stop: () => (leaving(), new Promise<void>((resolve) => leaves.push(resolve)).then(() => subscription.stop())) };
      },
    },
    leaveBegun,
    releaseLeaves: () => {
      for (const leave of leaves) leave();
    },
  };
}
