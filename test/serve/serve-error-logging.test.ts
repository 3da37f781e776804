import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/logger.js';
import { postJson, promotedSource, requestData, startTestServer, type RunningServer } from './serve-fixtures.js';

/** Every line logged at error level, with its fields. */
function errorLines(): { logger: Logger; lines: Array<Record<string, unknown> & { msg?: string }> } {
  const lines: Array<Record<string, unknown> & { msg?: string }> = [];
  const logger: Logger = {
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (obj, msg) => void lines.push({ ...obj, msg }),
    child: () => logger,
  };
  return { logger, lines };
}

describe('serve > error logging', () => {
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers requests before the first model is warm with a coded 503 and logs no error line or stack for them', async () => {
    // A replica waits for its first promotion, or warms the promoted run after a restart: /readyz says so, and the
    // holder logs the wait once. Each request meanwhile is the expected answer, not a failure of the server.
    const { logger, lines } = errorLines();
    server = await startTestServer(promotedSource(), {}, { logger });
    for (let i = 0; i < 3; i++) {
      const early = await postJson(`${server.url}/predict`, { data: requestData(6) });
      expect(early.status).toBe(503);
      expect(early.json.code).toBe('FLTS_SERVE_NO_MODEL');
    }
    expect(lines).toEqual([]);
  });
});
