import { attemptKey } from '../scheduler/task.js';
import type { AttemptOutcome } from './outcome.js';
import { boundText } from './thrown-value.js';
import { utf8Bytes } from './utf8.js';

/**
 * Reports in one message at most: the leader handles a message's reports in one turn, so
 * a backlog after an outage goes in several messages instead of stalling it.
 */
export const MAX_REPORTS_PER_MESSAGE = 1_000;

/**
 * Streams a report may go out on without being acknowledged before the worker drops it. A
 * leader that restarts answers on the next stream; one that ends every stream that carries
 * a report will never answer it, and resending it forever wedged the worker (issue #14).
 */
export const MAX_REPORT_SENDS = 8;

/**
 * Reports this size or larger are the suspects when the leader ends a stream as
 * RESOURCE_EXHAUSTED (a message over its limit); smaller ones cannot have caused it.
 */
export const LARGE_REPORT_BYTES = 64 * 1024;

/** Fields of a report besides result and error, in bytes, as a generous estimate. */
const REPORT_OVERHEAD_BYTES = 32;

interface PendingReport {
  outcome: AttemptOutcome;
  readonly resolve: () => void;
  /** Estimated size on the wire. */
  bytes: number;
  /** The stream serial it last went out on (0: not yet). */
  sentOnStream: number;
  /** Streams it went out on without an acknowledgement. */
  sends: number;
}

/** What to put in the next heartbeat, and what was given up on. */
export interface ReportBatch {
  readonly send: readonly AttemptOutcome[];
  /** Reports sent on MAX_REPORT_SENDS streams without an answer: dropped now. */
  readonly dropped: readonly AttemptOutcome[];
  /** Reports left for the next message (the byte budget was used up). */
  readonly more: boolean;
}

/**
 * The worker's unacknowledged reports. Pure bookkeeping (no I/O, no timers): the link
 * asks it what to send on which stream, and tells it about answers and refusals.
 */
export class ReportBook {
  private readonly pending = new Map<string, PendingReport>();

  constructor(private readonly maxSends = MAX_REPORT_SENDS) {}

  /** Reports not yet answered. */
  get size(): number {
    return this.pending.size;
  }

  /** The outcomes of the reports not yet answered. */
  outcomes(): AttemptOutcome[] {
    return [...this.pending.values()].map((report) => report.outcome);
  }

  /** Keeps a report until it is answered or given up on; resolves then. */
  add(outcome: AttemptOutcome): Promise<void> {
    return new Promise((resolve) => {
      this.pending.set(attemptKey(outcome.id, outcome.attempt), {
        outcome,
        resolve,
        bytes: reportBytes(outcome),
        sentOnStream: 0,
        sends: 0,
      });
    });
  }

  /**
   * Reports to send on stream `serial`: each once per stream, at most `budgetBytes` in all
   * but always at least one (the result limit keeps one report far below a message limit),
   * skipping attempts `waiting` says still have output to send first.
   */
  take(serial: number, budgetBytes: number, waiting: (key: string) => boolean): ReportBatch {
    const send: AttemptOutcome[] = [];
    const dropped: AttemptOutcome[] = [];
    let budget = budgetBytes;
    let more = false;
    for (const [key, report] of this.pending) {
      if (report.sentOnStream === serial || waiting(key)) continue;
      if (report.sends >= this.maxSends) {
        this.pending.delete(key);
        dropped.push(report.outcome);
        report.resolve();
        continue;
      }
      if (send.length >= MAX_REPORTS_PER_MESSAGE || (send.length > 0 && report.bytes > budget)) {
        more = true;
        continue;
      }
      budget -= report.bytes;
      report.sentOnStream = serial;
      report.sends++;
      send.push(report.outcome);
    }
    return { send, dropped, more };
  }

  /** The leader answered a report (accepted or refused as stale); false if unknown. */
  answered(id: string, attempt: number): boolean {
    const key = attemptKey(id, attempt);
    const report = this.pending.get(key);
    if (!report) return false;
    this.pending.delete(key);
    report.resolve();
    return true;
  }

  /**
   * Stream `serial` ended because the leader refused a message as too large. Every large
   * report sent on it and not answered becomes a short failure saying so, so it can be
   * delivered: the leader learns the attempt ended, and nothing is resent forever.
   */
  refusedAsTooLarge(serial: number, details: string): AttemptOutcome[] {
    const replaced: AttemptOutcome[] = [];
    for (const report of this.pending.values()) {
      if (report.sentOnStream !== serial || report.bytes < LARGE_REPORT_BYTES) continue;
      const { id, attempt } = report.outcome;
      report.outcome = {
        id,
        attempt,
        error:
          `the leader refused this attempt's report of about ${report.bytes} bytes ` +
          `(${boundText(details, 512)}); its result was dropped on the worker ` +
          "(lower --result-limit-bytes below the leader's message limit)",
        permanent: true,
      };
      report.bytes = reportBytes(report.outcome);
      replaced.push(report.outcome);
    }
    return replaced;
  }

  /** Gives up on every report (the link stopped); returns them for the log. */
  abandonAll(): AttemptOutcome[] {
    const abandoned = [...this.pending.values()];
    this.pending.clear();
    for (const report of abandoned) report.resolve();
    return abandoned.map((r) => r.outcome);
  }
}

/** Estimated UTF-8 size of a report on the wire. */
export function reportBytes(outcome: AttemptOutcome): number {
  return (
    utf8Bytes(outcome.id) +
    utf8Bytes(outcome.result ?? '') +
    utf8Bytes(outcome.error ?? '') +
    REPORT_OVERHEAD_BYTES
  );
}
