import { describe, expect, it } from 'vitest';
import { forecastWith } from '../../src/core/serve/run-prediction.js';
import { openServedModel } from '../../src/core/serve/served-model.js';
import { naiveSource, requestData } from './serve-fixtures.js';

const batching = { batching: { maxBatch: 2, maxWaitMs: 0 } };

describe('serve > a forecast names the columns its model does not read only for a caller that answers them', () => {
  it('leaves them out for an inference request or a shadow forecast, and names them for /predict and a library forecast', async () => {
    const served = await openServedModel(naiveSource('run-a'), 'run-a', batching);
    const data = { ...requestData(8), upp: requestData(8).up };
    // An inference request names its unread inputs itself (ignored_inputs), a shadow forecast answers no one: before,
    // each worked out the columns' warning (and remembered its column set) all the same, and dropped it.
    const unanswered = await forecastWith(served, { data }, 3);
    expect(unanswered).not.toHaveProperty('ignoredColumns');
    const answered = await forecastWith(served, { data }, 3, { ignoredColumns: true });
    expect(answered.ignoredColumns).toEqual({
      code: 'ignored_columns',
      message: 'A column the request gave that the model does not read was ignored: upp (did you mean up?). It reads ts, down, up.',
      details: { columns: ['upp'], count: 1 },
    });
    // The forecast is the same either way.
    expect(Array.from(answered.forecast.values[0])).toEqual(Array.from(unanswered.forecast.values[0]));
    served.retire();
  });
});
