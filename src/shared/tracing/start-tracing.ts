import { trace, type Tracer } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { StartupError } from '../errors.js';

/** A process's tracing once started: its tracer, and a flush-and-stop for shutdown. */
export interface Tracing {
  readonly tracer: Tracer;
  /** Exports what is buffered and stops; resolves within `timeoutMs` whatever happens. */
  shutdown(timeoutMs?: number): Promise<void>;
}

/** The environment variables tracing reads: the OpenTelemetry SDK's own names. */
export type TracingEnv = Readonly<Record<string, string | undefined>>;

type OtlpProtocol = 'http/protobuf' | 'http/json';

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
 * Starts OpenTelemetry tracing as the standard OTEL_* variables say, or resolves undefined
 * when they do not ask for it. Registers the provider globally (W3C trace context
 * propagation, AsyncLocalStorage context), so spans a task handler opens with the
 * @opentelemetry/api join the attempt's trace. Rejects with StartupError on a value it
 * cannot use, before anything is registered. The SDK and its exporters are loaded here
 * only: a process that does not trace never loads them.
 */
export async function startTracing(
  serviceName: string,
  env: TracingEnv = process.env,
): Promise<Tracing | undefined> {
  if (!tracingWanted(env)) return undefined;
  const named = exporterNames(env);
  const names = checkExporters(named.length === 0 ? ['otlp'] : named);
  const protocol = otlpProtocol(env);
  const [base, node, resources, semconv] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  const exporters = await Promise.all(names.map((name) => makeExporter(name, protocol)));
  const spanProcessors = exporters.map((exporter) => new base.BatchSpanProcessor(exporter));
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over our name.
  // No process detector: it exports the command line, and a --database-url there may
  // carry a password.
  const { detectResources, envDetector, hostDetector } = resources;
  const resource = resources
    .resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: serviceName })
    .merge(detectResources({ detectors: [hostDetector, envDetector] }));
  const provider = new node.NodeTracerProvider({ resource, spanProcessors });
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

/** The exporters asked for, each one drover ships; refuses any other by name. */
function checkExporters(names: readonly string[]): ('otlp' | 'console')[] {
  return names.map((name) => {
    if (name === 'otlp' || name === 'console') return name;
    throw new StartupError(
      `OTEL_TRACES_EXPORTER=${name}: drover exports traces by otlp or console`,
    );
  });
}

/** The OTLP protocol asked for; the collector's OTLP/HTTP port takes both encodings. */
function otlpProtocol(env: TracingEnv): OtlpProtocol {
  const variable =
    env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'] !== undefined
      ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
      : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = (env[variable] ?? 'http/protobuf').trim();
  if (protocol === 'http/protobuf' || protocol === 'http/json') return protocol;
  throw new StartupError(
    `${variable}=${protocol}: drover sends OTLP over http/protobuf or http/json ` +
      '(a collector takes both on port 4318)',
  );
}

async function makeExporter(
  name: 'otlp' | 'console',
  protocol: OtlpProtocol,
): Promise<SpanExporter> {
  if (name === 'console') {
    return new (await import('@opentelemetry/sdk-trace-base')).ConsoleSpanExporter();
  }
  // The exporters read their endpoint, headers, timeout and compression from OTEL_* too.
  return protocol === 'http/json'
    ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter()
    : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
}
