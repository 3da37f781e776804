// Opens a trained home for offline analyses of its networks (bench/shrink-to-persistence.mjs,
// bench/calibration-sets.mjs): the settings, store and processed data as `flts` resolves them, and each LSTM/GRU
// run with its loaded model and its windows (fit, validation tail, test). Reads dist/: run `npm run build` first.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/core');
const { resolveSettings } = await import(`${dist}/config/settings.js`);
const { createObjectStore } = await import(`${dist}/storage/index.js`);
const { loadProcessedData } = await import(`${dist}/preprocess/processed-data.js`);
const { listRunRecords } = await import(`${dist}/registry/run-store.js`);
const { loadRunModel } = await import(`${dist}/registry/run-artifacts.js`);
const { prepareWindows } = await import(`${dist}/train/prepare-windows.js`);

/** The home's processed data, and `visit(run)` for each network run, its model disposed afterwards. */
export async function forEachNetworkRun(home, targets, visit) {
  const { settings } = resolveSettings({ env: { FLTS_HOME: home, ...(targets ? { TARGETS: targets } : {}) } });
  const store = await createObjectStore(settings);
  const data = await loadProcessedData(store, settings);
  // The registry's own listing, as `flts eval` reads it: the runs folder also holds the config_hash index and the
  // training leases, which are no runs.
  for (const record of await listRunRecords(store, settings)) {
    if (record.model_type !== 'GRU' && record.model_type !== 'LSTM') continue;
    const model = await loadRunModel(store, settings, record);
    try {
      await visit({ record, model, data, windows: prepareWindows(data, record.window, settings.training.validationSplit) });
    } finally {
      model.dispose();
    }
  }
}
