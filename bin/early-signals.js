// A command takes SIGTERM and SIGINT itself (src/cli/stop-signals.ts) only once its modules have loaded, a second or
// more after the process started on a busy node. A signal before then would end the process by the default action:
// nothing said, no --json document, and exit status 128 + the signal's number, where the same stop at any later
// moment is answered. Nothing has started by then (no server, no bus, no lease or lock, no write), so the stop is
// answered here: `flts daemon` and `flts serve` as they answer a stop before they listen (no url, exit 0), the
// commands that end a stop with their coded error (FLTS_<AREA>_ABORTED) with that error, saying nothing was done.
// The error catalogue is a leaf of a few kilobytes that every command loads anyway: the hint and exit code are its own.
import { exitCodeFor, FltsError } from '../dist/core/errors.js';

/** The --json result of each service stopped before it listened, less `stopped_by`. */
const NOTHING_STARTED = {
  daemon: { url: '', roles: [], serving_url: null, grpc_url: null },
  serve: { url: '', grpc_url: null, run_id: null },
};

/**
 * The coded stop of each command that has one, as its error names the command. Details as the command's own stop gives
 * them (`written` where a stop may find a write done).
 */
const CODED_STOPS = {
  train: { code: 'FLTS_TRAIN_ABORTED', name: 'Train' },
  eval: { code: 'FLTS_EVAL_ABORTED', name: 'Eval' },
  backtest: { code: 'FLTS_BACKTEST_ABORTED', name: 'Backtest' },
  preprocess: { code: 'FLTS_PREPROCESS_ABORTED', name: 'Preprocess' },
  predict: { code: 'FLTS_PREDICT_ABORTED', name: 'Predict' },
  promote: { code: 'FLTS_PROMOTE_ABORTED', name: 'Promote', details: { written: false } },
  'promote-manual': { code: 'FLTS_PROMOTE_ABORTED', name: 'Promote', details: { written: false } },
  export: { code: 'FLTS_EXPORT_ABORTED', name: 'Export', details: { written: false } },
  bench: { code: 'FLTS_BENCH_ABORTED', name: 'Bench' },
  'replay-offsets': { code: 'FLTS_OFFSETS_ABORTED', name: 'replay-offsets' },
};

/** The commands whose stop while they load is answered here rather than by the signal's default action. */
export function answersEarlySignals(command) {
  return Object.hasOwn(NOTHING_STARTED, command) || Object.hasOwn(CODED_STOPS, command);
}

/**
 * Until `command` listens for a signal itself, that signal ends the process as the command ends a stop; `args` are
 * the command's, `env` the process environment (FLTS_CONTENT_TYPE=json asks for JSON as --json does).
 */
export function stopCleanlyUntilHandled(command, args, env = process.env) {
  // Help is all such a call does: the signal's default action ends it as it ends any quick command.
  if (args.includes('--help') || args.includes('-h')) return;
  const json = args.includes('--json') || env.FLTS_CONTENT_TYPE?.toLowerCase() === 'json';
  const coded = CODED_STOPS[command];
  for (const name of ['SIGINT', 'SIGTERM']) {
    const early = () => {
      // Once only: a second signal keeps its default action (the command's own listener, once in, takes the next ones).
      process.off(name, early);
      process.off('newListener', handedOver);
      if (process.listenerCount(name) > 0) return; // the command's own listener has it
      if (coded) answerWithError(coded, name, json);
      else answerStopped(command, name, json);
    };
    // The command's own listener answers from the moment it is added, and a signal after the command let go of it
    // (its work done, its output under way) is no longer one that came while it loaded.
    const handedOver = (event) => {
      if (event !== name) return;
      process.off('newListener', handedOver);
      // Once the command's listener is in: a signal with no listener left, even for a moment, is no longer watched
      // (node stops its watcher), and the listener added then would never be called.
      queueMicrotask(() => process.off(name, early));
    };
    process.on(name, early);
    process.on('newListener', handedOver);
  }
}

function answerStopped(command, signal, json) {
  const result = { ...NOTHING_STARTED[command], stopped_by: signal };
  process.stdout.write(json ? `${JSON.stringify({ status: 'ok', result }, null, 2)}\n` : `${signal}: stopped while loading\n`);
  process.exit(0);
}

function answerWithError(coded, signal, json) {
  const error = new FltsError(coded.code, `${coded.name} was stopped by ${signal} while it started, before it began its work: nothing was done.`, { details: { signal, ...coded.details } });
  if (json) process.stdout.write(`${JSON.stringify({ status: 'error', error: error.toJSON() }, null, 2)}\n`);
  else process.stderr.write(`Error ${error.code}: ${error.message}\nHint: ${error.hint}\n`);
  process.exit(exitCodeFor(error));
}
