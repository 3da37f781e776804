import cliProgress from 'cli-progress';
import type { EventSink, FltsEvent } from '../core/events.js';

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

function formatLoss(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toExponential(3);
}

/** Draws core training events: a cli-progress bar per epoch on a terminal, plain lines otherwise. */
export function createTrainProgress(options: TrainProgressOptions): TrainProgress {
  if (options.json) return { onEvent: () => {}, stop: () => {} };
  let bar: cliProgress.SingleBar | undefined;
  let context = { modelType: '', epochs: 0, batches: 0 };
  const stopBar = (): void => {
    bar?.stop();
    bar = undefined;
  };
  const onEvent = (event: FltsEvent): void => {
    switch (event.type) {
      case 'train.start':
        context = { modelType: event.modelType, epochs: event.epochs, batches: event.batchesPerEpoch };
        options.say(`${event.modelType} run ${event.runId}: ${event.epochs > 0 ? `${event.epochs} epochs x ${event.batchesPerEpoch} batches, ` : ''}backend ${event.backend}`);
        break;
      case 'train.batch_end':
        if (!options.tty) break;
        if (!bar) {
          bar = new cliProgress.SingleBar(
            { format: `${context.modelType} epoch {epoch}/${context.epochs} [{bar}] {value}/{total} loss {loss} | ETA {eta_formatted}`, stream: options.stream ?? process.stderr, hideCursor: true, clearOnComplete: true },
            cliProgress.Presets.shades_classic,
          );
          bar.start(context.batches, 0, { epoch: event.epoch, loss: '-' });
        }
        bar.update(event.batch, { epoch: event.epoch, loss: formatLoss(event.loss) });
        break;
      case 'train.epoch_end':
        stopBar();
        options.say(`${context.modelType} epoch ${event.epoch}/${context.epochs}: loss ${formatLoss(event.loss)}, val_loss ${formatLoss(event.valLoss)}, ${event.samplesPerSec?.toFixed(0) ?? '-'} samples/s`);
        break;
      case 'train.done':
        stopBar();
        break;
      default:
        break;
    }
  };
  return { onEvent, stop: stopBar };
}
