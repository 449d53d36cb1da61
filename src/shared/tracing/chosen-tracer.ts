import { ProxyTracerProvider, trace, type Tracer } from '@opentelemetry/api';

/**
 * Whether this process has a tracer provider registered (the OpenTelemetry SDK started),
 * so an SDK worker or producer traces by default exactly when its process does.
 */
export function tracingRegistered(): boolean {
  const provider = trace.getTracerProvider();
  const delegate = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  return delegate.constructor.name !== 'NoopTracerProvider';
}

/**
 * The tracer an SDK worker or producer option asks for: a Tracer as given, `true` or
 * `false` as said, unset: the registered provider's if there is one, else none (no span
 * is made at all, so an untraced process pays nothing per task).
 */
export function chosenTracer(option: boolean | Tracer | undefined): Tracer | undefined {
  if (typeof option === 'object') return option;
  return (option ?? tracingRegistered()) ? trace.getTracer('drover') : undefined;
}
