import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDaemonMetrics } from '../daemon/daemon-metrics.js';
import { createServeMetrics } from './serve-metrics.js';

type Described = { name: string; help: string; type: string; labelNames: string[] };

function busSeries(registry: ReturnType<typeof createServeMetrics>['registry']): Described[] {
  return (registry.getMetricsAsArray() as unknown as Described[])
    .filter((metric) => metric.name.startsWith('flts_bus_'))
    .map(({ name, help, type, labelNames }) => ({ name, help, type, labelNames }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !/\.(test|contract|fixture)\.ts$/.test(entry.name) ? [full] : [];
  });
}

describe('serve > metrics > the bus', () => {
  it('exports the bus series as the daemon does, and counts what its bus reports', async () => {
    const daemon = busSeries(createDaemonMetrics({ processMetrics: false }).registry);
    expect(daemon.map((metric) => metric.name)).toEqual(['flts_bus_connection_failures_total', 'flts_bus_consumer_crashes_total', 'flts_bus_consumer_crashing', 'flts_bus_consumer_restarts_total', 'flts_bus_dead_letter_refusals_total', 'flts_bus_message_retries_total', 'flts_bus_messages_lost_to_retention_total', 'flts_bus_messages_total']);
    const metrics = createServeMetrics({ processMetrics: false });
    expect(busSeries(metrics.registry)).toEqual(daemon);

    metrics.bus.subscribed('serve-promotions', ['model-selected']);
    metrics.bus.consumerCrashed('serve-promotions', 'FLTS_BUS_UNAVAILABLE');
    metrics.bus.crashing('serve-promotions', true);
    const text = await metrics.registry.metrics();
    expect(text).toContain('flts_bus_messages_total{group="serve-promotions",topic="model-selected",outcome="handled"} 0');
    expect(text).toContain('flts_bus_consumer_crashes_total{group="serve-promotions",code="FLTS_BUS_UNAVAILABLE"} 1');
    expect(text).toContain('flts_bus_consumer_crashing{group="serve-promotions"} 1');
  });

  it('defines each bus series in one place, which both registries use', () => {
    const src = path.resolve(__dirname, '../..');
    const definitions = sourceFiles(src).flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/name: '(flts_bus_\w+)'/g)].map(([, name]) => `${name} ${path.relative(src, file)}`));
    expect(definitions.sort()).toEqual(busSeries(createServeMetrics({ processMetrics: false }).registry).map((metric) => `${metric.name} ${path.join('core', 'bus', 'bus-metrics.ts')}`));
  });
});
