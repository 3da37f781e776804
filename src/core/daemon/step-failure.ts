import { repeatedFailureFields } from '../errors.js';

/**
 * How a daemon step that runs again on its own (a resync, a probation look, an upkeep) says it failed. A store or
 * broker outage, waited out like the bus's, fails every run of it while it lasts: at warn with its code and reason, as
 * bus_handler_outage_retry says it, since a stack trace on each of those lines only buried them. Any other failure is
 * flts' own and keeps its stack, at error. The caller writes the line, its event name literal there.
 */
export function repeatedStepFailure(error: unknown): { level: 'warn'; fields: { code: string; reason: string } } | { level: 'error'; fields: { err: unknown } } {
  const fields = repeatedFailureFields(error);
  return 'code' in fields ? { level: 'warn', fields } : { level: 'error', fields };
}
