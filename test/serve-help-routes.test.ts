import { afterAll, describe, expect, it } from 'vitest';
import Serve from '../src/commands/serve.js';
import { startInferenceService, type InferenceService } from '../src/core/serve/start-inference-service.js';
import { createSliceHome, type SliceHome } from './helpers/poblesec-slice.js';

describe('cli > serve --help', () => {
  let home: SliceHome | undefined;
  let service: InferenceService | undefined;

  afterAll(async () => {
    await service?.close();
    home?.remove();
  });

  it('names every route `flts serve` documents in /openapi.json, outside the Open Inference Protocol', async () => {
    home = createSliceHome('flts-serve-help-', { 'serve.port': 0, 'serve.pollIntervalMs': 0 });
    // What `flts serve` starts: the embedded service as the command builds it from settings.
    service = await startInferenceService(home.settings, { store: home.store });
    const own = Object.keys((await service.app.inject({ method: 'GET', url: '/openapi.json' })).json().paths).filter((p) => !p.startsWith('/v2'));
    expect(own).toContain('/prune_logs');
    const missing = own.filter((p) => !new RegExp(`${p.replaceAll('/', '\\/')}(?![\\w/])`).test(Serve.description ?? ''));
    expect(missing).toEqual([]);
  });
});
