import { describe, expect, it } from 'vitest';
import { keepOnnxTelemetryOff, ONNX_TELEMETRY_SWITCH } from './runtime-telemetry.js';

describe('keepOnnxTelemetryOff', () => {
  it('switches the telemetry off when the environment does not say', () => {
    const env: NodeJS.ProcessEnv = {};
    keepOnnxTelemetryOff(env);
    expect(env[ONNX_TELEMETRY_SWITCH]).toBe('1');
    const empty: NodeJS.ProcessEnv = { [ONNX_TELEMETRY_SWITCH]: '' };
    keepOnnxTelemetryOff(empty);
    expect(empty[ONNX_TELEMETRY_SWITCH]).toBe('1');
  });

  it("keeps the user's own value, whichever way it goes", () => {
    for (const value of ['0', 'false', '1', 'true']) {
      const env: NodeJS.ProcessEnv = { [ONNX_TELEMETRY_SWITCH]: value };
      keepOnnxTelemetryOff(env);
      expect(env[ONNX_TELEMETRY_SWITCH]).toBe(value);
    }
  });
});
