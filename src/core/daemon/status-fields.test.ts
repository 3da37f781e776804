import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import { resolveSettings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { createDaemonMetrics } from './daemon-metrics.js';
import { createRoleRegistry } from './role-registry.js';
import { startDaemon } from './start-daemon.js';

let home: string;
beforeEach(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'flts-status-fields-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/** The names /status had before it spoke snake_case, kept one release beside the new ones (daemon/README.md). */
const DEPRECATED = new Set(['runId', 'expectedModelTypes', 'configHash', 'modelType']);

/** Every key of a JSON value, with the path it was found at. */
function keysOf(value: unknown, at = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => keysOf(item, `${at}[${index}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => [`${at}.${key}`, ...keysOf(inner, `${at}.${key}`)]);
}

describe('core > daemon > /status fields', () => {
  it('are snake_case as the rest of flts JSON, the earlier camelCase names kept beside them with the same values', { timeout: 60_000 }, async () => {
    const settings = resolveSettings({
      flags: { home, 'daemon.roles': ['trainer', 'promoter', 'serving', 'batch'], 'daemon.port': 0, 'daemon.host': '127.0.0.1', 'serve.port': 0, 'serve.grpcPort': 0, 'serve.host': '127.0.0.1' },
    }).settings;
    const bus = createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 });
    const metrics = createDaemonMetrics({ processMetrics: false });
    const daemon = await startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus, metrics });
    const done = metrics.beginWork({ role: 'trainer', step: 'train', configHash: 'a'.repeat(64), modelType: 'LSTM' });
    try {
      const status = (await daemon.app.inject({ method: 'GET', url: '/status' })).json();
      const keys = keysOf(status);
      expect(keys.filter((key) => !/^[a-z0-9_]+$/.test(key.split('.').at(-1)!) && !DEPRECATED.has(key.split('.').at(-1)!))).toEqual([]);
      const role = (name: string) => status.roles.find((entry: { name: string }) => entry.name === name);
      expect(role('promoter')).toMatchObject({ expected_model_types: settings.daemon.expectedModelTypes, expectedModelTypes: settings.daemon.expectedModelTypes });
      expect(role('serving')).toMatchObject({ run_id: null, runId: null, url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), grpc_url: expect.stringMatching(/^grpc:\/\/127\.0\.0\.1:\d+$/) });
      expect(role('batch')).toMatchObject({ claims_handled: 0, claims_failed: 0, last_result: null, last_error: null, waiting: null });
      expect(status.current_work).toEqual([
        { role: 'trainer', step: 'train', config_hash: 'a'.repeat(64), model_type: 'LSTM', since: expect.any(String), configHash: 'a'.repeat(64), modelType: 'LSTM' },
      ]);
    } finally {
      done();
      await daemon.stop();
    }
  });

  it('says whether the daemon is starting, running or stopping, beside the roles it was asked to run', { timeout: 60_000 }, async () => {
    const settings = resolveSettings({ flags: { home, 'daemon.roles': ['slow'], 'daemon.port': 0, 'daemon.host': '127.0.0.1' } }).settings;
    const gate = () => {
      let open: () => void = () => {};
      const opened = new Promise<void>((resolve) => (open = resolve));
      return { open, opened };
    };
    const [entered, started, stopping, stopped] = [gate(), gate(), gate(), gate()];
    const registry = createRoleRegistry({
      slow: async () => {
        entered.open();
        await started.opened;
        return { name: 'slow', subscriptions: [], status: () => ({}), stop: async () => (stopping.open(), stopped.opened) };
      },
    });
    let url = '';
    const bus = createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 });
    const starting = startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus, registry, metrics: createDaemonMetrics({ processMetrics: false }), onEvent: (event) => void (event.type === 'daemon.listening' && (url = event.url)) });
    const status = async () => {
      const { state, configured_roles, roles } = (await (await fetch(`${url}/status`)).json()) as { state: string; configured_roles: string[]; roles: Array<{ name: string }> };
      return { state, configured_roles, roles: roles.map((role) => role.name) };
    };
    try {
      await entered.opened;
      expect(await status()).toEqual({ state: 'starting', configured_roles: ['slow'], roles: [] });
      started.open();
      const daemon = await starting;
      expect(await status()).toEqual({ state: 'running', configured_roles: ['slow'], roles: ['slow'] });
      const stop = daemon.stop();
      await stopping.opened;
      expect(await status()).toEqual({ state: 'stopping', configured_roles: ['slow'], roles: [] });
      stopped.open();
      await stop;
    } finally {
      started.open();
      stopped.open();
    }
  });
});
