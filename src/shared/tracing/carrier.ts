import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';

/** W3C trace context as plain text fields (`traceparent`, `tracestate`). */
export type Carrier = Readonly<Record<string, string>>;

/** Reads trace context from a plain record (a task's trace_context, a StartWorkRequest's). */
export const carrierGetter: TextMapGetter<Carrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** Writes trace context into a plain record. */
export const carrierSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};
