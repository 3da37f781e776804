import cliProgress from 'cli-progress';
import type { EventSink, FltsEvent } from '../core/events.js';
import { counted } from './counted.js';

export interface TrainProgressOptions {
  /** Under --json nothing is drawn or printed. */
  json: boolean;
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
 * Draws core training events: a cli-progress bar on a terminal, plain lines otherwise. Models training side by
 * side each keep their own context; their epoch lines interleave, each naming its model, and the bar follows one
 * run at a time (the one whose batch came first after the last line).
 */
export function createTrainProgress(options: TrainProgressOptions): TrainProgress {
  if (options.json) return { onEvent: () => {}, stop: () => {} };
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
        if (event.level !== 'warn') break;
        stopBar();
        options.say(`warning: ${event.message}`);
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

/**
 * Backtest fold events as lines: each model's folds at every tenth of them, then its total. A backtest that refits
 * (`--refit-every`) spends minutes on one model, which the total alone left silent.
 */
export function createBacktestProgress(say: (line: string) => void): EventSink {
  return (event) => {
    if (event.type !== 'backtest.fold') return;
    const done = event.fold + 1;
    if (done === event.folds) say(`${event.modelType}: ${event.folds} folds done`);
    else if (Math.floor((10 * done) / event.folds) > Math.floor((10 * event.fold) / event.folds)) say(`${event.modelType}: ${done}/${event.folds} folds`);
  };
}
