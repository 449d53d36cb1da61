import { trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import {
  detectResources,
  envDetector,
  hostDetector,
  processDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { StartupError } from '../errors.js';

/** A process's tracing once started: its tracer, and a flush-and-stop for shutdown. */
export interface Tracing {
  readonly tracer: Tracer;
  /** Exports what is buffered and stops; resolves within `timeoutMs` whatever happens. */
  shutdown(timeoutMs?: number): Promise<void>;
}

/** The environment variables tracing reads: the OpenTelemetry SDK's own names. */
export type TracingEnv = Readonly<Record<string, string | undefined>>;

/**
 * Whether the environment asks for traces. drover traces only when told to (the issue
 * asks for "off by default"): OTEL_TRACES_EXPORTER set to otlp or console, or an OTLP
 * endpoint given (OTEL_EXPORTER_OTLP_ENDPOINT or ..._TRACES_ENDPOINT). OTEL_SDK_DISABLED=true
 * and OTEL_TRACES_EXPORTER=none turn it off whatever else is set.
 */
export function tracingWanted(env: TracingEnv): boolean {
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return false;
  const exporters = exporterNames(env);
  if (exporters.includes('none')) return false;
  if (exporters.length > 0) return true;
  return Boolean(env['OTEL_EXPORTER_OTLP_ENDPOINT'] || env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
}

/**
 * Starts OpenTelemetry tracing as the standard OTEL_* variables say, or returns undefined
 * when they do not ask for it. Registers the provider globally (W3C trace context
 * propagation, AsyncLocalStorage context), so spans a task handler opens with the
 * @opentelemetry/api join the attempt's trace. Throws StartupError on a value it cannot use.
 */
export function startTracing(
  serviceName: string,
  env: TracingEnv = process.env,
): Tracing | undefined {
  if (!tracingWanted(env)) return undefined;
  const exporters = exporterNames(env);
  const spanProcessors = (exporters.length === 0 ? ['otlp'] : exporters).map(
    (name) => new BatchSpanProcessor(exporterFor(name, env)),
  );
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over our name.
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }).merge(
    detectResources({ detectors: [hostDetector, processDetector, envDetector] }),
  );
  const provider = new NodeTracerProvider({ resource, spanProcessors });
  provider.register();
  return {
    tracer: trace.getTracer('drover'),
    shutdown: async (timeoutMs = 5000) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      // An exporter that cannot reach its collector must not hold the process open.
      await Promise.race([provider.shutdown().catch(() => {}), late]);
      clearTimeout(timer);
    },
  };
}

function exporterNames(env: TracingEnv): string[] {
  return (env['OTEL_TRACES_EXPORTER'] ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
}

function exporterFor(name: string, env: TracingEnv): SpanExporter {
  if (name === 'console') return new ConsoleSpanExporter();
  if (name !== 'otlp') {
    throw new StartupError(
      `OTEL_TRACES_EXPORTER=${name}: drover exports traces by otlp or console`,
    );
  }
  const protocol = (
    env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'] ??
    env['OTEL_EXPORTER_OTLP_PROTOCOL'] ??
    'http/protobuf'
  ).trim();
  // The exporters read their endpoint, headers, timeout and compression from OTEL_* too.
  if (protocol === 'http/protobuf') return new OtlpProtoExporter();
  if (protocol === 'http/json') return new OtlpJsonExporter();
  throw new StartupError(
    `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}: drover sends OTLP over http/protobuf or http/json ` +
      '(a collector takes both on port 4318)',
  );
}
