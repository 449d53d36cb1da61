import { credentials } from '@grpc/grpc-js';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { LeaderLink, type LinkRunner } from '../../../src/worker/leader-link.js';
import { LeaderUnreachableError } from '../../../src/worker/link-errors.js';
import { captureLogger } from './capture-logger.js';

const runner: LinkRunner = { running: [], freeSlots: 1, start: () => {}, stop: () => {} };

/**
 * Leader addresses where nothing listens: Unix sockets that do not exist, so every Join
 * fails at once without touching the network or a port.
 */
const nowhere = (name: string): string =>
  `unix:${join(tmpdir(), `drover-no-leader-${process.pid}-${name}.sock`)}`;

/** A link whose time only moves by the waits it asks for, and which never waits for real. */
function linkWithFakeTime(addresses: string[], onWait: () => void = () => {}) {
  let nowMs = 0;
  const waits: number[] = [];
  const { logger, lines } = captureLogger();
  const link = new LeaderLink({
    addresses,
    credentials: credentials.createInsecure(),
    identity: { id: 'w1', address: '', instance: 'i', slots: 1, kinds: ['demo'] },
    runner,
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
  return { link, waits, lines };
}

describe('LeaderLink', () => {
  it('backs off with the injected jitter, tries each leader in turn, and gives up on time', async () => {
    const a = nowhere('a');
    const b = nowhere('b');
    const { link, waits, lines } = linkWithFakeTime([a, b]);
    const run = link.run(new AbortController().signal);
    await expect(run).rejects.toThrow(
      new LeaderUnreachableError(`no leader answered for 5200 ms (tried ${a}, ${b})`),
    );
    // Half of a cap that doubles from 200 ms up to 1 s; 5.2 s of silence is past 5 s.
    expect(waits).toEqual([100, 200, 400, 500, 500, 500, 500, 500, 500, 500, 500, 500]);
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
