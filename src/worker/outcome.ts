import { errorMessage } from '../shared/errors.js';
import { boundText, ERROR_LIMIT_CHARS, readThrown } from './thrown-value.js';
import { utf8Bytes, utf8Head } from './utf8.js';

/** How an attempt ended, to be reported to the leader. */
export interface AttemptOutcome {
  readonly id: string;
  readonly attempt: number;
  readonly result?: string | undefined;
  readonly error?: string | undefined;
  /** The handler said another attempt cannot help (it threw a PermanentTaskError). */
  readonly permanent?: boolean | undefined;
  /** Handed back unstarted (see TaskRunner.handBackUnstarted); `error` says why. */
  readonly notStarted?: boolean | undefined;
}

/**
 * Most UTF-8 bytes of a task result (or a failed task's kept output) a worker reports by
 * default: a quarter of the leader's smallest message limit (4 MiB), so a report, the
 * output sent beside it and the rest of the heartbeat always fit in one message.
 */
export const DEFAULT_RESULT_LIMIT_BYTES = 1024 * 1024;

/** Which attempt, and the limits its report is held to. */
export interface OutcomeContext {
  readonly id: string;
  readonly attempt: number;
  readonly resultLimitBytes: number;
}

/**
 * A handler returned `value`. A string is the result; undefined or null, no result; any
 * other value (a JavaScript handler returning an object, say) its JSON, or, if it has
 * none, a failure that says so rather than a silently empty result. A result over the
 * limit fails the task at once (a retry would return the same), keeping its head with a
 * marker: a silently cut result would look whole to whoever parses it.
 */
export function returnedOutcome(ctx: OutcomeContext, value: unknown): AttemptOutcome {
  const base = { id: ctx.id, attempt: ctx.attempt };
  if (value === undefined || value === null) return base;
  const text = typeof value === 'string' ? value : asJson(value);
  if (text === undefined) {
    const what = typeof value === 'object' ? 'an object' : `a ${typeof value}`;
    return {
      ...base,
      error: `the handler returned ${what} that cannot be written as JSON; return a string`,
      permanent: true,
    };
  }
  const bounded = boundResult(text, ctx.resultLimitBytes);
  if (bounded.cutFromBytes === undefined) return { ...base, result: text };
  return {
    ...base,
    result: bounded.text,
    error:
      `result too large: ${bounded.cutFromBytes} bytes of UTF-8, over this worker's limit of ` +
      `${ctx.resultLimitBytes} (--result-limit-bytes, SDK option resultLimitBytes); its first bytes are kept`,
    permanent: true,
  };
}

/** A value as JSON text, or undefined if it has none (a function, a cycle, a BigInt). */
function asJson(value: unknown): string | undefined {
  try {
    const text: unknown = JSON.stringify(value);
    return typeof text === 'string' ? text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A handler threw `value`, or ended after its attempt was stopped (`stopReason` set: the
 * stop is the error, and the attempt is not permanently failed by it).
 */
export function thrownOutcome(
  ctx: OutcomeContext,
  value: unknown,
  stopReason?: unknown,
): AttemptOutcome {
  const thrown = readThrown(value);
  const stopped = stopReason !== undefined;
  return {
    id: ctx.id,
    attempt: ctx.attempt,
    error: stopped ? stopMessage(stopReason) : thrown.message,
    result:
      thrown.output === undefined
        ? undefined
        : boundResult(thrown.output, ctx.resultLimitBytes).text,
    permanent: !stopped && thrown.permanent,
  };
}

/** An attempt stopped before its handler ran. */
export function stoppedOutcome(ctx: OutcomeContext, stopReason: unknown): AttemptOutcome {
  return { id: ctx.id, attempt: ctx.attempt, error: stopMessage(stopReason) };
}

/**
 * The handler was told to stop and did not end within the grace: the worker gives up on
 * it, reports the attempt failed and frees its slot. Its code may still run (JavaScript
 * cannot be killed), which the error says.
 */
export function unresponsiveOutcome(
  ctx: OutcomeContext,
  stopReason: unknown,
  graceMs: number,
): AttemptOutcome {
  return {
    id: ctx.id,
    attempt: ctx.attempt,
    error:
      `${stopMessage(stopReason)}; the handler did not stop within ${graceMs} ms ` +
      `(--stop-grace-ms, SDK option stopGraceMs), so the worker gave up on it and freed its slot`,
  };
}

/**
 * A result cut to `limitBytes` of UTF-8 plus a marker; `cutFromBytes` (its whole size) is
 * set only when it was cut.
 */
export function boundResult(
  text: string,
  limitBytes: number,
): { text: string; cutFromBytes?: number } {
  // Cheap check first: each UTF-16 unit is at most 3 UTF-8 bytes.
  if (text.length * 3 <= limitBytes) return { text };
  const bytes = utf8Bytes(text);
  if (bytes <= limitBytes) return { text };
  return {
    text: `${utf8Head(text, limitBytes)}\n[result truncated on the worker at ${limitBytes} of ${bytes} bytes]`,
    cutFromBytes: bytes,
  };
}

function stopMessage(reason: unknown): string {
  return boundText(errorMessage(reason), ERROR_LIMIT_CHARS);
}
