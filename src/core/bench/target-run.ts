import type { Settings } from '../config/settings.js';
import { clip } from '../clip-text.js';
import { FltsError, isFltsError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { READY_CHECK_TIMEOUT_MS, servedRunWindow, type ServedWindow } from './payload-window.js';
import { describeFetchFailure } from './run-bench.js';

const NAME_THE_ROWS = 'name the request rows: --dataset NAME (NAME_test.csv) or TEST_FILE, as for `flts preprocess`';
const NAME_THE_ROWS_HINT = 'Request bodies are cut from a test file with the served run\'s columns: with --target, name it (--dataset NAME for NAME_test.csv, or TEST_FILE; FLTS_DATA_DIR for its directory), or use the store the service reads (--home, the store settings) so its run is found.';

/**
 * The run a running flts service serves, as its GET /healthz says (`run_id`); null when it serves none yet or says
 * nothing of the kind (another service). A target that does not answer is reported as unavailable.
 */
export async function runServedAt(url: string, headers: Record<string, string> = {}): Promise<string | null> {
  let response: Response;
  try {
    response = await fetch(`${url}/healthz`, { headers, signal: AbortSignal.timeout(READY_CHECK_TIMEOUT_MS) });
  } catch (error) {
    throw new FltsError(
      'FLTS_BENCH_TARGET_UNAVAILABLE',
      `GET ${url}/healthz got no answer (${describeFetchFailure(error, READY_CHECK_TIMEOUT_MS)}): the run it serves, whose test file the request rows are cut from, could not be asked for.`,
      { details: { url }, hint: `Check --target, or ${NAME_THE_ROWS}.` },
    );
  }
  const body = (await response.json().catch(() => undefined)) as { run_id?: unknown } | undefined;
  return response.ok && typeof body?.run_id === 'string' && body.run_id !== '' ? body.run_id : null;
}

/**
 * The window of the run a --target service serves, read from the store, when no data is named: its test file is
 * where the request rows come from, as for replicas bench starts itself. A service that names no run, or a run this
 * store does not hold (a service of another store), leaves the rows unknown: refused as a usage error asking for
 * them, rather than cutting them from a file nobody named.
 */
export async function targetRunWindow(store: ObjectStore, settings: Settings, target: string): Promise<ServedWindow> {
  const url = target.replace(/\/+$/, '');
  // A service behind a bearer token (FLTS_SERVE_API_TOKEN) is asked with it, as its /predict is.
  const runId = await runServedAt(url, settings.serve.apiToken ? { authorization: `Bearer ${settings.serve.apiToken}` } : {});
  if (runId === null) {
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--target ${url} does not say which run it serves (GET /healthz names no run_id: no model loaded yet, or not a flts service), so the request rows cannot be cut from that run's test file; ${NAME_THE_ROWS}.`, {
      hint: NAME_THE_ROWS_HINT,
      details: { flag: 'dataset', target: url },
    });
  }
  try {
    return (await servedRunWindow(store, settings, runId)) as ServedWindow;
  } catch (error) {
    if (!isFltsError(error) || error.code !== 'FLTS_RUN_NOT_FOUND') throw error;
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--target ${url} serves run ${clip(runId)}, which this store does not hold (${error.message}), so the test file it was trained with is not known here; ${NAME_THE_ROWS}.`, {
      cause: error,
      hint: NAME_THE_ROWS_HINT,
      details: { flag: 'dataset', target: url, run_id: clip(runId) },
    });
  }
}
