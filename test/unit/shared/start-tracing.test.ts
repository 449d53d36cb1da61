import { describe, expect, it } from 'vitest';
import { StartupError } from '../../../src/shared/errors.js';
import { startTracing, tracingWanted } from '../../../src/shared/tracing/start-tracing.js';

describe('tracing from the OTEL_* variables', () => {
  it('is off unless an exporter or an OTLP endpoint is named, and off when disabled', async () => {
    expect(tracingWanted({})).toBe(false);
    expect(tracingWanted({ OTEL_SERVICE_NAME: 'x' })).toBe(false);
    expect(tracingWanted({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(tracingWanted({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' })).toBe(
      true,
    );
    expect(tracingWanted({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'h' })).toBe(
      false,
    );
    expect(tracingWanted({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toBe(false);
    await expect(startTracing('t', {})).resolves.toBeUndefined();
  });

  it('refuses, before registering anything, an exporter or protocol it cannot serve', async () => {
    await expect(startTracing('t', { OTEL_TRACES_EXPORTER: 'jaeger' })).rejects.toThrow(
      StartupError,
    );
    await expect(
      startTracing('t', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
    ).rejects.toThrow(/http\/protobuf or http\/json/);
  });
});
