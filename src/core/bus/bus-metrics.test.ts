import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createBusMetrics } from './bus-metrics.js';

describe('core > bus > bus-metrics', () => {
  it('labels flts_bus_connection_failures_total by host:port, a user:password@ before it masked', async () => {
    const registry = new Registry();
    const metrics = createBusMetrics(registry);
    metrics.connectionFailed('kafka-1:9092');
    metrics.connectionFailed('alice:s3cret@kafka-2:9092');
    const text = await registry.metrics();
    expect(text).toContain('flts_bus_connection_failures_total{broker="kafka-1:9092"} 1');
    // Before, the label was the address as given, password and all, to anyone who reads /metrics.
    expect(text).toContain('flts_bus_connection_failures_total{broker="***@kafka-2:9092"} 1');
    expect(text).not.toContain('s3cret');
  });
});
