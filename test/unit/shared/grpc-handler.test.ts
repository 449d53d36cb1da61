import { EventEmitter } from 'node:events';
import { status, type ServerUnaryCall } from '@grpc/grpc-js';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/shared/errors.js';
import { unary, type UnaryContext } from '../../../src/shared/grpc-handler.js';
import { MalformedMessage } from '../../../src/shared/malformed.js';
import { defer } from '../../helpers/wait-for.js';

const logger = pino({ level: 'silent' });

/** A unary call as grpc-js hands it over: an emitter with a request and a cancelled flag. */
function fakeCall(request: unknown): ServerUnaryCall<unknown, unknown> & EventEmitter {
  return Object.assign(new EventEmitter(), { request, cancelled: false }) as never;
}

/** Runs a handler on a call and resolves with what it answered. */
function answer(
  handler: ReturnType<typeof unary>,
  call: ServerUnaryCall<unknown, unknown>,
): Promise<{ err: { code?: number; details?: string } | null; response?: unknown }> {
  return new Promise((resolve) =>
    handler(call, (err, response) => resolve({ err: err as never, response })),
  );
}

describe('unary', () => {
  it('answers with what the handler returns, sync or async', async () => {
    expect(
      await answer(
        unary(logger, (r: unknown) => ({ echo: r })),
        fakeCall(1),
      ),
    ).toEqual({
      err: null,
      response: { echo: 1 },
    });
    expect(
      await answer(
        unary(logger, async () => 'later'),
        fakeCall(1),
      ),
    ).toMatchObject({
      err: null,
      response: 'later',
    });
  });

  it('turns a throw, a rejection and a malformed request into their statuses', async () => {
    const thrown = await answer(
      unary(logger, () => {
        throw new InvalidArgumentError('bad');
      }),
      fakeCall(1),
    );
    expect(thrown.err).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'bad' });
    const rejected = await answer(
      unary(logger, () => Promise.reject(new InvalidArgumentError('worse'))),
      fakeCall(1),
    );
    expect(rejected.err).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'worse' });
    let ran = false;
    const malformed = await answer(
      unary(logger, () => (ran = true)),
      fakeCall(new MalformedMessage('/x.Y/Z', 'truncated')),
    );
    expect(malformed.err?.code).toBe(status.INVALID_ARGUMENT);
    expect(ran).toBe(false);
  });

  it('aborts the signal of a running handler when the client cancels, and stops listening after', async () => {
    const call = fakeCall(1);
    const release = defer<void>();
    let seen: AbortSignal | undefined;
    const answered = answer(
      unary(logger, async (_r: unknown, ctx: UnaryContext) => {
        seen = ctx.signal;
        await release.promise;
        return 'done';
      }),
      call,
    );
    expect(call.listenerCount('cancelled')).toBe(1);
    call.emit('cancelled');
    expect(seen!.aborted).toBe(true);
    release.resolve();
    await answered;
    expect(call.listenerCount('cancelled')).toBe(0);
  });

  it('gives a handler that asks after the cancel an aborted signal', async () => {
    const call = Object.assign(fakeCall(1), { cancelled: true });
    const { err, response } = await answer(
      unary(logger, (_r: unknown, ctx: UnaryContext) => ctx.signal.aborted),
      call,
    );
    expect(err).toBeNull();
    expect(response).toBe(true);
  });

  it('leaves no listener behind for a signal first read after the answer', async () => {
    const call = fakeCall(1);
    let context: UnaryContext | undefined;
    await answer(
      unary(logger, (_r: unknown, ctx: UnaryContext) => {
        context = ctx;
        return 'x';
      }),
      call,
    );
    expect(context!.signal.aborted).toBe(false);
    expect(call.listenerCount('cancelled')).toBe(0);
  });

  it('adds no listener for a handler that never reads its signal', async () => {
    const call = fakeCall(1);
    await answer(
      unary(logger, () => 'x'),
      call,
    );
    expect(call.listenerCount('cancelled')).toBe(0);
  });
});
