import type { ObjectStore } from '../storage/object-store.js';

/**
 * Whether a holder elsewhere is still at work, judged on this process's clock alone: leases and run heartbeats
 * are rewritten by their holder, and an object seen unchanged long enough belongs to a holder that stopped.
 * Comparing the holder's timestamps with this clock would let a holder whose clock runs behind look dead.
 */

interface Sighting {
  body: string;
  since: number;
}

/** Per store, what this process last saw at each key (a lease, a run's heartbeat) and since when (monotonic). */
const sightings = new WeakMap<ObjectStore, Map<string, Sighting>>();
/** Forgetting an object only delays its takeover (the count starts again), so the oldest are dropped past this. */
const MAX_SIGHTINGS = 1000;

/**
 * How long this process has seen the object at `key` unchanged, by its own monotonic clock: 0 the first time it
 * sees it and whenever it has changed since the last look (a heartbeat, another holder). `value` is what was read
 * there (undefined when absent): any heartbeat that its writer changes on every beat can be judged this way.
 */
export function seenUnchangedMs(store: ObjectStore, key: string, value: unknown, monotonic: () => number = performance.now.bind(performance)): number {
  let seen = sightings.get(store);
  if (!seen) sightings.set(store, (seen = new Map()));
  const previous = seen.get(key);
  seen.delete(key);
  if (value === undefined) return 0;
  const now = monotonic();
  const body = typeof value === 'string' ? value : JSON.stringify(value);
  const sighting = previous?.body === body ? previous : { body, since: now };
  seen.set(key, sighting);
  if (seen.size > MAX_SIGHTINGS) seen.delete(seen.keys().next().value!);
  return now - sighting.since;
}
