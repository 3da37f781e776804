import { FltsError } from '../core/errors.js';
import type { WritesAtStop } from './stop-signals.js';

/** The stop of `flts promote` and `flts promote-manual --yes`, saying where it found the promotion history and pointers. */
export function promoteStopped(signal: NodeJS.Signals, writes: WritesAtStop): FltsError {
  const state = {
    none: 'before it wrote to the promotion history: nothing was promoted',
    writing: 'while it wrote to the promotion history and pointers: it finished that write first, so they agree',
    written: 'after it wrote to the promotion history and pointers, before it ended',
  }[writes];
  return new FltsError('FLTS_PROMOTE_ABORTED', `Promote was stopped by ${signal} ${state}.`, { details: { signal, written: writes !== 'none' } });
}
