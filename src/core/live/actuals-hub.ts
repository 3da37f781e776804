import type { LiveActuals } from './live-scorer.js';

/**
 * Hands actual values from whoever reads them (the batch role, on an `inference-data` claim) to whoever
 * scores forecasts (the serving role) inside one daemon process.
 */
export interface ActualsHub {
  publish(actuals: LiveActuals): void;
  /** Returns the unsubscribe function. */
  subscribe(listener: (actuals: LiveActuals) => void): () => void;
}

export function createActualsHub(): ActualsHub {
  const listeners = new Set<(actuals: LiveActuals) => void>();
  return {
    publish(actuals) {
      for (const listener of listeners) listener(actuals);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
