import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  joinRefusal,
  WorkerIdInUseError,
  WorkerRefusedError,
  WorkerTokenRefusedError,
} from '../../../src/worker/link-errors.js';

const serviceError = (code: status, details: string) =>
  Object.assign(new Error(`${code} ${details}`), { code, details });

describe('joinRefusal', () => {
  it('stops on an id in use by another process, naming the id and the fix', () => {
    const refusal = joinRefusal(serviceError(status.ALREADY_EXISTS, 'member w1 is alive'), 'w1');
    expect(refusal).toBeInstanceOf(WorkerIdInUseError);
    expect(refusal?.message).toBe(
      'worker id "w1" is already in use by another worker process (member w1 is alive); ' +
        'give each worker its own --id (DROVER_WORKER_ID; SDK option id)',
    );
    expect((refusal as WorkerIdInUseError).kind).toBe('conflict');
  });

  it('stops on a Join refused as invalid', () => {
    const refusal = joinRefusal(serviceError(status.INVALID_ARGUMENT, 'too many slots'), 'w1');
    expect(refusal).toBeInstanceOf(WorkerRefusedError);
    expect(refusal?.message).toBe(
      "the leader refused this worker: too many slots; fix the worker's settings",
    );
    expect((refusal as WorkerRefusedError).kind).toBe('invalid');
  });

  it.each([status.UNAUTHENTICATED, status.PERMISSION_DENIED])(
    'stops on a Join whose token the leader does not take (code %s), saying how to give one',
    (code) => {
      const refusal = joinRefusal(
        serviceError(code, 'the token is not one this leader knows'),
        'w1',
      );
      expect(refusal).toBeInstanceOf(WorkerTokenRefusedError);
      expect(refusal?.message).toBe(
        "the leader refused this worker's token (the token is not one this leader knows); give it a join token: --token or DROVER_TOKEN, from drover token create --role worker",
      );
    },
  );

  it.each([
    ['unavailable', serviceError(status.UNAVAILABLE, 'connection refused')],
    ['deadline exceeded', serviceError(status.DEADLINE_EXCEEDED, 'deadline')],
    ['not the leader', serviceError(status.FAILED_PRECONDITION, 'not the leader')],
    ['a plain error', new Error('boom')],
    ['a non-object', 'boom'],
    ['null', null],
  ])('tries again after %s', (_name, err) => {
    expect(joinRefusal(err, 'w1')).toBeUndefined();
  });
});
