import { describe, expect, it } from 'vitest';
import type { AttemptOutcome } from '../../../src/worker/outcome.js';
import {
  LARGE_REPORT_BYTES,
  MAX_REPORT_SENDS,
  MAX_REPORTS_PER_MESSAGE,
  ReportBook,
  reportBytes,
} from '../../../src/worker/report-book.js';

const none = (): boolean => false;
const outcome = (id: string, resultBytes = 0): AttemptOutcome => ({
  id,
  attempt: 1,
  result: 'r'.repeat(resultBytes),
});
const ids = (list: readonly AttemptOutcome[]): string[] => list.map((o) => o.id);

describe('ReportBook', () => {
  it('sends at most MAX_REPORTS_PER_MESSAGE reports a message, the rest in the next', () => {
    const book = new ReportBook();
    for (let i = 0; i < MAX_REPORTS_PER_MESSAGE + 5; i++) void book.add(outcome(`r${i}`));
    const first = book.take(1, 10_000_000, none);
    expect(first.send).toHaveLength(MAX_REPORTS_PER_MESSAGE);
    expect(first.more).toBe(true);
    expect(ids(book.take(1, 10_000_000, none).send)).toEqual(
      Array.from({ length: 5 }, (_, i) => `r${MAX_REPORTS_PER_MESSAGE + i}`),
    );
  });

  it('sends each report once per stream until it is answered', async () => {
    const book = new ReportBook();
    let answered = false;
    void book.add(outcome('a')).then(() => (answered = true));
    expect(ids(book.take(1, 1000, none).send)).toEqual(['a']);
    expect(book.take(1, 1000, none).send).toEqual([]);
    expect(ids(book.take(2, 1000, none).send)).toEqual(['a']); // a new stream: again
    expect(book.answered('a', 1)).toBe(true);
    await Promise.resolve();
    expect(answered).toBe(true);
    expect(book.answered('a', 1)).toBe(false);
    expect(book.take(3, 1000, none).send).toEqual([]);
  });

  it('keeps to the byte budget, but always sends at least one', () => {
    const book = new ReportBook();
    void book.add(outcome('big', 500));
    void book.add(outcome('small', 10));
    void book.add(outcome('other', 500));
    const first = book.take(1, 600, none);
    expect(ids(first.send)).toEqual(['big', 'small']);
    expect(first.more).toBe(true);
    expect(ids(book.take(1, 600, none).send)).toEqual(['other']);
    const lone = new ReportBook();
    void lone.add(outcome('huge', 5000));
    expect(ids(lone.take(1, 600, none).send)).toEqual(['huge']);
  });

  it('holds back a report whose attempt still has output to send', () => {
    const book = new ReportBook();
    void book.add(outcome('a'));
    expect(book.take(1, 1000, (key) => key === 'a#1').send).toEqual([]);
    expect(ids(book.take(1, 1000, none).send)).toEqual(['a']);
  });

  it('drops a report no stream ever answered, resolving it', async () => {
    const book = new ReportBook(3);
    let settled = false;
    void book.add(outcome('lost')).then(() => (settled = true));
    for (let stream = 1; stream <= 3; stream++) {
      expect(ids(book.take(stream, 1000, none).send)).toEqual(['lost']);
    }
    const fourth = book.take(4, 1000, none);
    expect(fourth.send).toEqual([]);
    expect(ids(fourth.dropped)).toEqual(['lost']);
    expect(book.size).toBe(0);
    await Promise.resolve();
    expect(settled).toBe(true);
    expect(MAX_REPORT_SENDS).toBeGreaterThan(3);
  });

  it('turns a large report refused as too large into a short, permanent failure', () => {
    const book = new ReportBook();
    void book.add(outcome('huge', LARGE_REPORT_BYTES));
    void book.add(outcome('small', 10));
    void book.add(outcome('later', LARGE_REPORT_BYTES));
    book.take(1, LARGE_REPORT_BYTES + 100, none); // huge and small go out on stream 1
    const replaced = book.refusedAsTooLarge(1, 'Received message larger than max');
    expect(ids(replaced)).toEqual(['huge']);
    expect(replaced[0]).toEqual({
      id: 'huge',
      attempt: 1,
      error: expect.stringMatching(
        /^the leader refused this attempt's report of about \d+ bytes \(Received message larger than max\); its result was dropped/,
      ) as unknown,
      permanent: true,
    });
    expect(reportBytes(replaced[0]!)).toBeLessThan(1024);
    const next = book.take(2, 10_000_000, none).send;
    expect(next.find((o) => o.id === 'huge')?.result).toBeUndefined();
    expect(next.find((o) => o.id === 'later')?.result).toHaveLength(LARGE_REPORT_BYTES);
  });

  it('resolves every report when abandoned', async () => {
    const book = new ReportBook();
    const all = [book.add(outcome('a')), book.add(outcome('b'))];
    expect(ids(book.abandonAll())).toEqual(['a', 'b']);
    await Promise.all(all);
    expect(book.size).toBe(0);
  });
});
