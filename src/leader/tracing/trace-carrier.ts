import type { TraceCarrier } from './task-tracer.js';

/**
 * The longest trace header kept: a traceparent is 55 characters, and W3C lets a tracestate
 * be cut at 512. Anything longer is dropped (not refused): trace context is advisory, and
 * a malformed one means "start a new trace", as the W3C recommendation says.
 */
const MAX_TRACE_HEADER_CHARS = 512;

/**
 * The W3C trace context in a caller's map (a task's trace_context field, gRPC metadata,
 * HTTP headers): only `traceparent` and `tracestate`, each bounded, so a caller cannot
 * make the leader keep an arbitrary map per task. Undefined when there is no traceparent.
 */
export function traceCarrierFrom(
  read: (key: 'traceparent' | 'tracestate') => unknown,
): TraceCarrier | undefined {
  const parent = read('traceparent');
  if (typeof parent !== 'string' || parent === '' || parent.length > MAX_TRACE_HEADER_CHARS) {
    return undefined;
  }
  const state = read('tracestate');
  return typeof state === 'string' && state !== '' && state.length <= MAX_TRACE_HEADER_CHARS
    ? { traceparent: parent, tracestate: state }
    : { traceparent: parent };
}

/** A gRPC call's metadata, as far as the trace context goes (grpc-js Metadata.get). */
export interface MetadataLike {
  get(key: string): readonly unknown[];
}

/**
 * A new task with the call's `traceparent` metadata as its trace context, unless it
 * carries its own (a batch or a stream may send one per task).
 */
export function withCallTrace<T extends { readonly traceContext?: TraceCarrier | undefined }>(
  task: T,
  metadata: MetadataLike,
): T {
  if (task.traceContext !== undefined) return task;
  const carrier = traceCarrierFrom((key) => metadata.get(key)[0]);
  return carrier === undefined ? task : { ...task, traceContext: carrier };
}

/** An HTTP request's headers (Node's lower-cased IncomingHttpHeaders) as trace metadata. */
export function headerMetadata(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): MetadataLike {
  return {
    get: (key) => {
      const value = headers[key];
      return value === undefined ? [] : Array.isArray(value) ? value : [value];
    },
  };
}
