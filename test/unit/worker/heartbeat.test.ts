import { describe, expect, it } from 'vitest';
import { HeartbeatStatus } from '../../../src/gen/cluster/v1/leader.js';
import {
  buildHeartbeat,
  finishedTask,
  heartbeatStatus,
  type WorkerState,
} from '../../../src/worker/heartbeat.js';

const state: WorkerState = {
  id: 'w1',
  session: 'secret',
  failedReason: undefined,
  draining: false,
  running: [],
  began: [],
  runningCount: 0,
  freeSlots: 2,
};

describe('heartbeatStatus', () => {
  it.each([
    [undefined, 0, HeartbeatStatus.HEARTBEAT_STATUS_IDLE],
    [undefined, 1, HeartbeatStatus.HEARTBEAT_STATUS_BUSY],
    ['disk full', 0, HeartbeatStatus.HEARTBEAT_STATUS_FAILED],
    ['disk full', 3, HeartbeatStatus.HEARTBEAT_STATUS_FAILED],
    ['', 0, HeartbeatStatus.HEARTBEAT_STATUS_FAILED], // any reason, even empty, is FAILED
  ])('failed %j with %i running is %i', (reason, running, expected) => {
    expect(heartbeatStatus(reason, running)).toBe(expected);
  });
});

describe('buildHeartbeat', () => {
  it('says BUSY by the running count when the list is left out (a heartbeat of reports only)', () => {
    const message = buildHeartbeat(
      { ...state, running: [], runningCount: 3 },
      { output: [], reports: [{ id: 't', attempt: 1, result: 'ok' }], more: false },
      7,
    );
    expect(message.status).toBe(HeartbeatStatus.HEARTBEAT_STATUS_BUSY);
    expect(message.running).toEqual([]);
    expect(message.finished.map((f) => f.id)).toEqual(['t']);
  });
});

describe('finishedTask', () => {
  it('puts a report on the wire with permanent and notStarted always set', () => {
    expect(finishedTask({ id: 't', attempt: 2, result: 'ok' })).toEqual({
      id: 't',
      attempt: 2,
      result: 'ok',
      error: undefined,
      permanent: false,
      notStarted: false,
    });
    expect(finishedTask({ id: 't', attempt: 2, error: 'no', permanent: true }).permanent).toBe(
      true,
    );
    const handedBack = { id: 't', attempt: 2, error: 'not started: draining', notStarted: true };
    expect(finishedTask(handedBack).notStarted).toBe(true);
  });
});

describe('buildHeartbeat', () => {
  it('tells liveness, what runs and the load, with no reason while healthy', () => {
    const output = [{ id: 't', attempt: 1, stream: 'stdout', data: 'hi' }];
    const message = buildHeartbeat(
      {
        ...state,
        running: [{ id: 't', attempt: 1 }],
        began: [{ id: 't', attempt: 1 }],
        runningCount: 1,
        freeSlots: 1,
        draining: true,
      },
      { output, reports: [{ id: 'u', attempt: 3, result: 'r' }], more: false },
      7,
    );
    expect(message).toEqual({
      id: 'w1',
      session: 'secret',
      serial: 7,
      status: HeartbeatStatus.HEARTBEAT_STATUS_BUSY,
      statusReason: '',
      freeSlots: 1,
      running: [{ id: 't', attempt: 1 }],
      began: [{ id: 't', attempt: 1 }],
      draining: true,
      finished: [
        { id: 'u', attempt: 3, result: 'r', error: undefined, permanent: false, notStarted: false },
      ],
      output,
    });
  });

  it('carries the reason while FAILED', () => {
    const message = buildHeartbeat(
      { ...state, failedReason: 'disk full' },
      { output: [], reports: [], more: false },
      7,
    );
    expect(message.status).toBe(HeartbeatStatus.HEARTBEAT_STATUS_FAILED);
    expect(message.statusReason).toBe('disk full');
  });
});
