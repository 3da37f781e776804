import cliProgress from 'cli-progress';
import type { EventSink, FltsEvent } from '../core/events.js';
import { counted } from './counted.js';
import { tenthsOf } from './progress-log.js';

export interface TrainProgressOptions {
  /** Draw bars (a terminal); otherwise one plain line per epoch. */
  tty: boolean;
  /** Plain-line output (the command's `say`). */
  say: (line: string) => void;
  stream?: NodeJS.WriteStream;
}

export interface TrainProgress {
  onEvent: EventSink;
  stop(): void;
}

/**
 * Whether progress bars may be drawn on a stream: a terminal that moves the cursor. TERM=dumb (Emacs shells, some
 * CI consoles) is a terminal that does not, where a bar's cursor codes come out as garbage: plain lines there.
 */
export function drawsBars(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && env.TERM !== 'dumb';
}

function formatLoss(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toExponential(3);
}

const STAGE_LABELS: Readonly<Record<Extract<FltsEvent, { type: 'train.predict' }>['stage'], string>> = {
  calibration: 'interval calibration windows',
  recursive: 'interval steps past the horizon',
  test: 'test windows',
};

/**
 * Draws core training events: a cli-progress bar on a terminal, plain lines otherwise (under --json: progress-log.ts). Models training side by
 * side each keep their own context; their epoch lines interleave, each naming its model, and the bar follows one
 * run at a time (the one whose batch came first after the last line).
 */
export function createTrainProgress(options: TrainProgressOptions): TrainProgress {
  let bar: { runId: string; bar: cliProgress.SingleBar; stage?: string } | undefined;
  const contexts = new Map<string, { modelType: string; epochs: number }>();
  const contextOf = (runId: string) => contexts.get(runId) ?? { modelType: '', epochs: 0 };
  const stopBar = (): void => {
    bar?.bar.stop();
    bar = undefined;
  };
  const onEvent = (event: FltsEvent): void => {
    switch (event.type) {
      case 'train.start':
        contexts.set(event.runId, { modelType: event.modelType, epochs: event.epochs });
        stopBar();
        options.say(`${event.modelType} run ${event.runId}: ${event.epochs > 0 ? `${counted(event.epochs, 'epoch')} x ${counted(event.batchesPerEpoch, 'batch', 'batches')}, ` : ''}backend ${event.backend}`);
        break;
      case 'train.batch_end': {
        if (!options.tty) break;
        if (bar && bar.runId !== event.runId) break;
        const context = contextOf(event.runId);
        if (!bar) {
          const drawn = new cliProgress.SingleBar(
            { format: `${context.modelType} epoch {epoch}/${context.epochs} [{bar}] {value}/{total} loss {loss} | ETA {eta_formatted}`, stream: options.stream ?? process.stderr, hideCursor: true, clearOnComplete: true },
            cliProgress.Presets.shades_classic,
          );
          drawn.start(event.batches, 0, { epoch: event.epoch, loss: '-' });
          bar = { runId: event.runId, bar: drawn };
        }
        bar.bar.update(event.batch, { epoch: event.epoch, loss: formatLoss(event.loss) });
        break;
      }
      case 'train.epoch_end': {
        stopBar();
        const context = contextOf(event.runId);
        options.say(`${context.modelType} epoch ${event.epoch}/${context.epochs}: loss ${formatLoss(event.loss)}, val_loss ${formatLoss(event.valLoss)}, ${event.samplesPerSec?.toFixed(0) ?? '-'} samples/s`);
        break;
      }
      case 'train.predict': {
        // Forecasts after the fit (intervals, test windows) take long on long windows: a bar per stage, on a terminal only.
        if (!options.tty) break;
        if (bar && bar.runId !== event.runId) break;
        if (bar && bar.stage !== event.stage) stopBar();
        if (!bar) {
          const drawn = new cliProgress.SingleBar(
            { format: `${contextOf(event.runId).modelType} ${STAGE_LABELS[event.stage]} [{bar}] {value}/{total} | ETA {eta_formatted}`, stream: options.stream ?? process.stderr, hideCursor: true, clearOnComplete: true },
            cliProgress.Presets.shades_classic,
          );
          drawn.start(event.total, 0);
          bar = { runId: event.runId, bar: drawn, stage: event.stage };
        }
        bar.bar.update(event.done);
        if (event.done >= event.total) stopBar();
        break;
      }
      case 'log':
        // Info notes are the waits on another process's run (--wait, a claim checked for life), minutes of nothing else.
        stopBar();
        options.say(event.level === 'warn' ? `warning: ${event.message}` : event.message);
        break;
      case 'train.done':
        if (bar?.runId === event.runId) stopBar();
        contexts.delete(event.runId);
        break;
      default:
        break;
    }
  };
  return { onEvent, stop: stopBar };
}

/** Options of the progress of a command without training: a bar on a terminal (`tty`), plain lines by `say` otherwise. */
export interface LoopProgressOptions {
  tty: boolean;
  say: (line: string) => void;
  stream?: NodeJS.WriteStream;
}

/** A bar of one loop (folds, windows) on a terminal, started at 0 of `total`. */
function loopBar(format: string, total: number, stream: NodeJS.WriteStream | undefined): cliProgress.SingleBar {
  const bar = new cliProgress.SingleBar({ format: `${format} [{bar}] {value}/{total} | ETA {eta_formatted}`, stream: stream ?? process.stderr, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return bar;
}

/**
 * Backtest progress: a bar of each model's folds on a terminal; otherwise a line as each model begins, its folds at
 * every tenth of them, then its total. A backtest that refits (`--refit-every`) spends minutes on one model, which the
 * total alone left silent.
 */
export function createBacktestProgress(options: LoopProgressOptions): TrainProgress {
  let bar: cliProgress.SingleBar | undefined;
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
  };
  const onEvent: EventSink = (event) => {
    if (event.type === 'backtest.model_start') {
      stop();
      if (options.tty) bar = loopBar(`${event.modelType} folds`, event.folds, options.stream);
      else options.say(`${event.modelType}: ${counted(event.folds, 'fold')}${event.refitEvery > 0 ? `, refit every ${event.refitEvery}` : ''}`);
      return;
    }
    if (event.type !== 'backtest.fold') return;
    const done = event.fold + 1;
    if (options.tty) {
      bar?.update(done);
      if (done === event.folds) {
        stop();
        options.say(`${event.modelType}: ${event.folds} folds done`);
      }
      return;
    }
    if (done === event.folds) options.say(`${event.modelType}: ${event.folds} folds done`);
    else if (Math.floor((10 * done) / event.folds) > Math.floor((10 * event.fold) / event.folds)) options.say(`${event.modelType}: ${done}/${event.folds} folds`);
  };
  return { onEvent, stop };
}

/**
 * Batch forecast progress (`flts predict` over a long file): a bar of the windows forecast on a terminal, otherwise
 * a line at every tenth of them.
 */
export function createPredictProgress(options: LoopProgressOptions): TrainProgress {
  let bar: cliProgress.SingleBar | undefined;
  const passesTenth = tenthsOf();
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
  };
  const onEvent: EventSink = (event) => {
    if (event.type !== 'batch.progress') return;
    if (options.tty) {
      bar ??= loopBar('forecast windows', event.total, options.stream);
      bar.update(event.windows);
      if (event.windows >= event.total) stop();
      return;
    }
    if (passesTenth('windows', event.windows, event.total)) options.say(`forecast: ${event.windows}/${event.total} windows`);
  };
  return { onEvent, stop };
}

/**
 * Preprocess progress as text: a line as each input file's parse begins and as the new version's write begins, the
 * stages of a large file that took seconds without a word. What was read and written is the report's, after them; the
 * line of the write names the config_hash cut short and not as `config_hash <hash>`, which the report's line is and
 * scripts read from the text output.
 */
export function createPreprocessProgress(options: Pick<LoopProgressOptions, 'say'>): TrainProgress {
  const onEvent: EventSink = (event) => {
    if (event.type === 'preprocess.reading') options.say(`reading ${event.role.padEnd(5)} ${event.file} (${event.bytes} bytes)`);
    else if (event.type === 'preprocess.writing') options.say(`writing processed data ${event.configHash.slice(0, 12)}...: train ${event.trainRows} x ${event.columns}, test ${event.testRows} x ${event.columns}`);
  };
  return { onEvent, stop: () => {} };
}
