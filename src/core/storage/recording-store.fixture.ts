import type { ObjectStore } from './object-store.js';

/** One call made through the store interface: the method, its bucket and its key or prefix (absent when not given). */
export interface StoreCall {
  method: string;
  bucket: string;
  key?: string;
}

/**
 * `inner`, recording every call made through the ObjectStore interface: what a test counts to say how much of the
 * store an operation reads, where time would only say it on a quiet machine.
 */
export function recordingStore(inner: ObjectStore): { store: ObjectStore; calls: StoreCall[] } {
  const calls: StoreCall[] = [];
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push({ method: String(name), bucket: String(args[0]), ...(typeof args[1] === 'string' ? { key: args[1] } : {}) });
        return value.apply(target, args);
      };
    },
  });
  return { store, calls };
}
