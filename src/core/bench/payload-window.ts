import type { Settings } from '../config/settings.js';
import { SERVE_SPECS } from '../config/specs/serve.js';
import { FltsError } from '../errors.js';
import { resolveServedRunId } from '../registry/pointers.js';
import { readRunRecord } from '../registry/run-store.js';
import { requestRowsNeeded } from '../serve/request-frame.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { BenchVariant } from './parse-matrix.js';

/** The environment variables that pin the run a replica serves (serve.runId). */
const SERVE_RUN_VARIABLES: readonly string[] = SERVE_SPECS.find((spec) => spec.path === 'serve.runId')?.env ?? [];

/** The input window of the run a benchmark sends its requests to. */
export interface ServedWindow {
  runId: string | null;
  inputSeqLen: number;
  /** The test file the run was trained with, by name, as its processed data recorded it (absent when unknown). */
  testFile?: string;
}

/**
 * The window of the run the replicas will serve (`runId`, else the pinned, else the promoted run), read from the
 * registry; undefined when the compared variants pin runs of their own (each group is checked once it is ready).
 */
export async function servedRunWindow(store: ObjectStore, settings: Settings, runId?: string, variants: readonly BenchVariant[] = []): Promise<ServedWindow | undefined> {
  if (!runId && variants.some((variant) => SERVE_RUN_VARIABLES.some((name) => Object.hasOwn(variant.env, name)))) return undefined;
  const record = await readRunRecord(store, settings, await resolveServedRunId(store, settings, runId));
  return { runId: record.run_id, inputSeqLen: record.window.inputSeqLen, ...(record.data.test_source_object ? { testFile: record.data.test_source_object } : {}) };
}

/**
 * Every request body must hold the model's window: a shorter one is answered 400 by each replica, which would
 * end the run only after the servers started, as a failure of the benchmark instead of a wrong flag.
 */
export function assertPayloadCoversWindow(payloadRows: number, window: ServedWindow): void {
  const needed = requestRowsNeeded(window.inputSeqLen);
  if (payloadRows >= needed) return;
  const run = window.runId ? `run ${window.runId}` : 'the served run';
  throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--payload-rows ${payloadRows} is too few for ${run}: its input window is ${window.inputSeqLen} rows, so each request needs at least ${needed}; pass --payload-rows ${needed} or more.`, {
    details: { flag: 'payload-rows', value: payloadRows, needed, input_seq_len: window.inputSeqLen, run_id: window.runId },
  });
}

/** How long one readiness check of the service under test may take before it counts as not answering. */
export const READY_CHECK_TIMEOUT_MS = 5_000;

/** The window of the model a running server has loaded (GET /predict_ping); undefined when it does not say. */
export async function windowAt(url: string, runId: string | null): Promise<ServedWindow | undefined> {
  try {
    const response = await fetch(`${url}/predict_ping`, { signal: AbortSignal.timeout(READY_CHECK_TIMEOUT_MS) });
    const body = (await response.json()) as { input_seq_len?: unknown };
    return response.ok && typeof body.input_seq_len === 'number' ? { runId, inputSeqLen: body.input_seq_len } : undefined;
  } catch {
    // The probe request that follows reports an unreachable or broken server with the server's own message.
    return undefined;
  }
}
