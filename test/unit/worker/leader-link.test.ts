import { credentials } from '@grpc/grpc-js';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { HeartbeatStatus } from '../../../src/gen/cluster/v1/leader.js';
import { LeaderLink, type LinkRunner } from '../../../src/worker/leader-link.js';
import { LeaderUnreachableError } from '../../../src/worker/link-errors.js';
import { useFakeLeaders } from '../client/fake-leaders.js';
import { captureLogger, type LogLine } from './capture-logger.js';
import { waitFor } from '../../helpers/wait-for.js';

const runner: LinkRunner = {
  running: [],
  begun: [],
  runningCount: 0,
  freeSlots: 1,
  start: () => {},
  fence: () => 0,
  gateKeyed: () => {},
  stop: () => {},
  recall: () => false,
};

/**
 * Leader addresses where nothing listens: Unix sockets that do not exist, so every Join
 * fails at once without touching the network or a port.
 */
const nowhere = (name: string): string =>
  `unix:${join(tmpdir(), `drover-no-leader-${process.pid}-${name}.sock`)}`;

/** A link whose time only moves by the waits it asks for, and which never waits for real. */
function linkWithFakeTime(
  addresses: string[],
  onWait: () => void = () => {},
  linkRunner: LinkRunner = runner,
) {
  let nowMs = 0;
  const waits: number[] = [];
  const { logger, lines } = captureLogger();
  const link = new LeaderLink({
    addresses,
    credentials: credentials.createInsecure(),
    identity: { id: 'w1', address: '', instance: 'i', slots: 1, kinds: ['demo'] },
    runner: linkRunner,
    policy: { initialDelayMs: 100, maxDelayMs: 1_000, giveUpAfterMs: 5_000 },
    logger,
    deps: {
      monotonicMs: () => nowMs,
      random: () => 0.5,
      sleep: (ms) => {
        waits.push(ms);
        nowMs += ms;
        onWait();
        return Promise.resolve();
      },
    },
  });
  /** Moves the link's clock without waiting (for silence checks on its own timer). */
  const advance = (ms: number): void => {
    nowMs += ms;
  };
  return { link, waits, lines, advance };
}

describe('LeaderLink', () => {
  it('backs off with the injected jitter, tries each leader in turn, and gives up on time', async () => {
    const a = nowhere('a');
    const b = nowhere('b');
    const { link, waits, lines } = linkWithFakeTime([a, b]);
    const run = link.run(new AbortController().signal);
    await expect(run).rejects.toThrow(
      new LeaderUnreachableError(
        `no leader answered for 5001 ms (tried ${a}, ${b}); last: ${a}: 14 UNAVAILABLE: No connection established. Last error: connect ENOENT ${a.slice('unix:'.length)} (is it running? see --leader)`,
      ),
    );
    // Half of a cap that doubles from 200 ms up to 1 s, the last wait cut to end just past
    // the give-up deadline (5 s) for one more round.
    expect(waits).toEqual([100, 200, 400, 500, 500, 500, 500, 500, 500, 500, 500, 301]);
    const tried = lines.filter((l) => l.msg === 'leader unreachable').map((l) => l['address']);
    expect(tried).toHaveLength(13);
    expect(tried.slice(0, 4)).toEqual([a, b, a, b]);
  });

  it('stops without an error when its signal aborts, dropping what it could not report', async () => {
    const stop = new AbortController();
    const { link, waits, lines } = linkWithFakeTime([nowhere('c')], () => stop.abort());
    const report = link.report({ id: 't', attempt: 1, result: 'r' });
    await expect(link.run(stop.signal)).resolves.toBeUndefined();
    await report;
    expect(waits).toEqual([100]);
    expect(lines.map((l) => l.msg)).toEqual(['leader unreachable', 'report dropped: no leader']);
  });
});

describe('LeaderLink following the active leader', () => {
  const start = useFakeLeaders();
  const follows = (lines: LogLine[]) =>
    lines
      .filter((l) => l.msg === 'following the active leader')
      .map((l) => ({ from: l['from'], to: l['to'], delayMs: l['delayMs'] }));

  /** Runs the link until `reached` resolves, then stops it. */
  async function runUntil(link: LeaderLink, reached: Promise<unknown>): Promise<void> {
    const stop = new AbortController();
    const run = link.run(stop.signal);
    await Promise.race([reached, run]);
    stop.abort();
    await run;
  }

  it("lists what runs on a stream's first heartbeat, and leaves it out of a flush of reports", async () => {
    const active = await start('active');
    const busy: LinkRunner = { ...runner, running: [{ id: 't1', attempt: 1 }], runningCount: 1 };
    const { link } = linkWithFakeTime([active.address], () => {}, busy);
    const stop = new AbortController();
    const run = link.run(stop.signal);
    await waitFor(() => active.heartbeats.length >= 1, {
      timeoutMs: 5_000,
      what: 'the first heartbeat',
    });
    expect(active.heartbeats[0]!.running).toEqual([{ id: 't1', attempt: 1 }]);
    void link.report({ id: 't0', attempt: 1, result: 'ok' });
    const flush = await waitFor(() => active.heartbeats.find((h) => h.finished.length > 0), {
      timeoutMs: 5_000,
      what: 'the heartbeat carrying the report',
    });
    expect(flush.running).toEqual([]);
    expect(flush.status).toBe(HeartbeatStatus.HEARTBEAT_STATUS_BUSY);
    expect(flush.finished.map((f) => f.id)).toEqual(['t0']);
    stop.abort();
    await run;
  });

  it('lists every attempt begun on the first heartbeat, then only those begun since', async () => {
    const active = await start('active');
    const busy: LinkRunner = {
      ...runner,
      running: [
        { id: 't1', attempt: 1 },
        { id: 't2', attempt: 1 },
      ],
      begun: [{ id: 't1', attempt: 1 }],
      runningCount: 2,
    };
    const { link } = linkWithFakeTime([active.address], () => {}, busy);
    const stop = new AbortController();
    const run = link.run(stop.signal);
    await waitFor(() => active.heartbeats.length >= 1, {
      timeoutMs: 5_000,
      what: 'the first heartbeat',
    });
    expect(active.heartbeats[0]!.began).toEqual([{ id: 't1', attempt: 1 }]);
    // t2 begins; t3 begins and is reported in the same turn: only t2 needs a notice.
    link.began('t2#1', 't2', 1);
    link.began('t3#1', 't3', 1);
    void link.report({ id: 't3', attempt: 1, result: 'ok' });
    const flush = await waitFor(() => active.heartbeats.find((h) => h.finished.length > 0), {
      timeoutMs: 5_000,
      what: 'the heartbeat carrying the notice',
    });
    expect(flush.began).toEqual([{ id: 't2', attempt: 1 }]);
    expect(flush.running).toEqual([]);
    stop.abort();
    await run;
  });

  it('joins the leader a refusal names at once, even one not in its list', async () => {
    const active = await start('active');
    const standby = await start('standby', active.address);
    const { link, waits, lines } = linkWithFakeTime([standby.address, nowhere('d')]);
    await runUntil(link, active.joined);
    expect(waits).toEqual([]); // no backoff for the hop, and the listed `nowhere` skipped
    expect(standby.calls).toEqual(['join']);
    expect(active.count('join')).toBe(1);
    expect(follows(lines)).toEqual([{ from: standby.address, to: active.address, delayMs: 0 }]);
  });

  it('moves at once when a stream ends naming the new active leader', async () => {
    const next = await start('active');
    const old = await start('active');
    old.stepDownTo = next.address;
    const { link, waits, lines } = linkWithFakeTime([old.address, nowhere('e')]);
    await runUntil(link, next.joined);
    // The stream lasted 0 ms (fake time): without the hint it would back off 100 ms.
    expect(waits).toEqual([]);
    expect(old.calls).toEqual(['join', 'heartbeat']);
    expect(follows(lines)).toEqual([{ from: old.address, to: next.address, delayMs: 0 }]);
  });

  it('leaves a leader that answers heartbeats but has gone silent, for the next one', async () => {
    const silent = await start('active');
    silent.joinAnswer = { heartbeatIntervalMs: 5, heartbeatTimeoutMs: 50, answersHeartbeats: true };
    const next = await start('active');
    const { link, lines, advance } = linkWithFakeTime([silent.address, next.address]);
    const stop = new AbortController();
    const run = link.run(stop.signal);
    await silent.joined;
    await waitFor(() => silent.calls.includes('heartbeat') || undefined, {
      timeoutMs: 5_000,
      what: 'the stream open on the silent leader',
    });
    advance(51); // past the heartbeat timeout with no answer: the next tick ends the stream
    await next.joined;
    stop.abort();
    await run;
    const closed = lines.find((l) => l.msg === 'heartbeat stream closed');
    expect(closed?.['reason']).toBe('the leader has not answered for 51 ms');
  });

  it('tries the next listed leader, after backoff, when a refusal names none', async () => {
    const active = await start('active');
    const standby = await start('standby');
    const { link, waits, lines } = linkWithFakeTime([standby.address, active.address]);
    await runUntil(link, active.joined);
    expect(waits).toEqual([100]);
    expect(standby.calls).toEqual(['join']);
    expect(follows(lines)).toEqual([]);
  });

  it('bounds leaders naming each other: one hop at once, then a backoff wait, until it gives up', async () => {
    const a = await start('standby');
    const b = await start('standby', a.address);
    a.hint = b.address;
    const { link, waits, lines } = linkWithFakeTime([a.address]);
    await expect(link.run(new AbortController().signal)).rejects.toThrow(
      new LeaderUnreachableError(
        `no leader answered for 5001 ms (tried ${a.address}); last: ${a.address}: 14 UNAVAILABLE: this leader is a standby; the active leader is ${b.address} (term 3)`,
      ),
    );
    // Every hop a -> b is at once; b's hint back to a waits (half of a cap doubling to 1 s).
    expect(waits).toEqual([200, 500, 500, 500, 500, 500, 500, 500, 500, 500, 301]);
    expect([a.count('join'), b.count('join')]).toEqual([12, 11]);
    const delays = follows(lines).map((f) => f.delayMs);
    expect(delays.slice(0, 4)).toEqual([0, 200, 0, 500]);
  });
});
