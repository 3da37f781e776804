import { renderLineChart } from '../charts/svg-chart.js';
import type { EpochRecord } from './fit-network.js';

/** The loss per epoch of one run; its title names the run, since the file is read apart from it (MLflow, a browser). */
export function renderLossCurve(modelType: string, runId: string, history: readonly EpochRecord[], bestEpoch?: number): string {
  return renderLineChart({
    title: `${modelType} run ${runId.slice(0, 8)}: loss per epoch${bestEpoch ? ` (kept epoch ${bestEpoch} of ${history.length})` : ''}`,
    xLabel: 'epoch',
    // The first epochs' loss is often ten times the rest; on a log axis the epochs that decide stay readable.
    yLabel: 'MSE (scaled, log scale)',
    yLog: true,
    series: [
      { name: 'train loss', values: history.map((h) => h.loss) },
      { name: 'validation loss', values: history.map((h) => h.val_loss) },
    ],
    ...(bestEpoch ? { xMarker: { at: bestEpoch, name: 'kept epoch' } } : {}),
  });
}
