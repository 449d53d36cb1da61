import { describe, expect, it } from 'vitest';
import type { AttemptOutcome } from '../../../src/worker/outcome.js';
import { OUTPUT_MESSAGE_BYTES, Outbox } from '../../../src/worker/outbox.js';
import { LARGE_REPORT_BYTES, ReportBook } from '../../../src/worker/report-book.js';
import { captureLogger } from './capture-logger.js';

const outcome = (id: string, result = ''): AttemptOutcome => ({ id, attempt: 1, result });
const ack = (id: string, accepted: boolean) => ({
  id,
  attempt: 1,
  accepted,
  code: accepted ? 0 : 9,
  reason: accepted ? '' : 'stale attempt',
});

function outbox(book?: ReportBook) {
  const { logger, lines } = captureLogger();
  return { box: new Outbox(logger, book), lines };
}

describe('Outbox', () => {
  it('carries output first, and a report only once its attempt has no output left', () => {
    const { box } = outbox();
    // Two messages' worth of output: 2 MiB at 3 bytes a unit, in 8 Ki-unit pieces.
    box.output('a', 1, 'stdout', 'x'.repeat(Math.ceil((OUTPUT_MESSAGE_BYTES * 1.5) / 3)));
    void box.report(outcome('a'));
    void box.report(outcome('b'));
    const first = box.take(1, 1);
    expect(first.output.length).toBeGreaterThan(0);
    expect(first.reports.map((r) => r.id)).toEqual(['b']); // a waits for its output
    expect(first.more).toBe(true);
    const second = box.take(1, 1);
    expect(second.output.length).toBeGreaterThan(0);
    expect(second.reports.map((r) => r.id)).toEqual(['a']);
    expect(second.more).toBe(false);
    expect(box.take(1, 1)).toEqual({ output: [], reports: [], more: false });
  });

  it("lists an ended attempt whose report is held back, so a leader keeps it this worker's", () => {
    const { box } = outbox();
    box.output('a', 1, 'stdout', 'x'.repeat(Math.ceil((OUTPUT_MESSAGE_BYTES * 1.5) / 3)));
    void box.report(outcome('a'));
    void box.report(outcome('b'));
    const first = box.take(1, 1);
    // b goes in this message; a waits behind its output, so it is listed as still its own.
    expect(box.endedUnreported(first.reports)).toEqual([{ id: 'a', attempt: 1 }]);
    box.acknowledged([ack('b', true)]);
    const second = box.take(1, 2);
    expect(box.endedUnreported(second.reports)).toEqual([]);
    box.acknowledged([ack('a', true)]);
    expect(box.endedUnreported([])).toEqual([]);
    expect(box.everyEndKept).toBe(true);
  });

  it('never again vouches for every attempt once a report was given up on', () => {
    const { box } = outbox(new ReportBook(1));
    void box.report(outcome('a'));
    box.take(1, 1); // sent on stream 1, unanswered
    box.take(2, 2); // a new stream: sent the most times allowed, so dropped
    expect(box.everyEndKept).toBe(false);
  });

  it('resolves a report when the leader answers it, and logs a refusal', async () => {
    const { box, lines } = outbox();
    const answered: string[] = [];
    void box.report(outcome('ok')).then(() => answered.push('ok'));
    void box.report(outcome('stale')).then(() => answered.push('stale'));
    box.take(1, 1);
    box.acknowledged([ack('ok', true), ack('stale', false), ack('unknown', false)]);
    await Promise.resolve();
    expect(answered.sort()).toEqual(['ok', 'stale']);
    // A stale attempt's refusal (FAILED_PRECONDITION) is everyday: info, not warn.
    expect(lines.map((l) => [l.msg, l['taskId'], l['details'], l['level']])).toEqual([
      ['report refused', 'stale', 'stale attempt', 30],
    ]);
    expect(box.take(2, 1).reports).toEqual([]);
  });

  it("keeps sent output until its stream says it is saved; an older stream's word counts for nothing", () => {
    const { box } = outbox();
    box.streamOpened(1, true);
    box.output('a', 1, 'stdout', 'first');
    expect(box.take(1, 1).output.map((c) => c.data)).toEqual(['first']);
    box.streamOpened(2, true); // the stream broke before the leader said it saved it
    box.outputSaved(1, 1); // a late answer from the old stream: not about this one's message 1
    expect(box.take(2, 1).output.map((c) => [c.data, c.offset])).toEqual([['first', 0]]);
    box.outputSaved(2, 1);
    box.streamOpened(3, true);
    expect(box.take(3, 1).output).toEqual([]);
  });

  it('logs a report given up on after its last send', () => {
    const { box, lines } = outbox(new ReportBook(1));
    void box.report(outcome('lost'));
    expect(box.take(1, 1).reports).toHaveLength(1);
    expect(box.take(2, 1).reports).toEqual([]);
    expect(lines.map((l) => [l.msg, l['taskId']])).toEqual([
      ['report dropped: no leader answered it on any of its streams', 'lost'],
    ]);
  });

  it('turns a large report refused as too large into a short failure, and logs it', () => {
    const { box, lines } = outbox();
    void box.report(outcome('huge', 'r'.repeat(LARGE_REPORT_BYTES)));
    box.take(1, 1);
    box.refusedAsTooLarge(1, 'Received message larger than max');
    expect(lines.map((l) => [l.msg, l['taskId'], l['details']])).toEqual([
      [
        'leader refused a report as too large; reporting the attempt failed instead',
        'huge',
        'Received message larger than max',
      ],
    ]);
    const [resent] = box.take(2, 1).reports;
    expect(resent?.result).toBeUndefined();
    expect(resent?.permanent).toBe(true);
  });

  it('resolves and logs every report when abandoned', async () => {
    const { box, lines } = outbox();
    const all = [box.report(outcome('a')), box.report(outcome('b'))];
    box.abandon();
    await Promise.all(all);
    expect(lines.map((l) => [l.msg, l['taskId']])).toEqual([
      ['report dropped: no leader', 'a'],
      ['report dropped: no leader', 'b'],
    ]);
    expect(box.take(1, 1).reports).toEqual([]);
  });

  it('tells begun attempts once, leaving out those whose report goes instead', () => {
    const { box } = outbox();
    box.beganAttempt('a#1', 'a', 1);
    box.beganAttempt('b#2', 'b', 2);
    void box.report({ id: 'b', attempt: 2, result: 'done at once' });
    expect(box.takeBegan()).toEqual([{ id: 'a', attempt: 1 }]);
    expect(box.takeBegan()).toEqual([]);
  });
});
