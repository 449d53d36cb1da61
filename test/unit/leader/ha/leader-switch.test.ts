import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Coordinator } from '../../../../src/leader/coordinator.js';
import { LeaderSwitch } from '../../../../src/leader/ha/leader-switch.js';
import { MemoryTaskStore } from '../../../../src/scheduler/store/memory-store.js';
import { NotLeaderError } from '../../../../src/shared/errors.js';
import { asMemberId, asTaskId } from '../../../../src/shared/ids.js';
import { FakeClock } from '../../../helpers/fake-clock.js';
import { ManualTimers } from '../../../helpers/manual-timers.js';
import { testCoordinatorOptions } from '../../../helpers/coordinator-options.js';

const coordinators: Coordinator[] = [];
afterEach(() => {
  for (const c of coordinators.splice(0)) c.shutdown('test over');
});

async function coordinator(): Promise<Coordinator> {
  let n = 0;
  const c = new Coordinator(
    {
      clock: new FakeClock(),
      ids: { taskId: () => `t${++n}`, token: () => 'token', secret: () => 'secret' },
      logger: pino({ level: 'silent' }),
      store: new MemoryTaskStore(),
      fail: () => undefined,
      timers: new ManualTimers(),
    },
    testCoordinatorOptions(),
  );
  coordinators.push(c);
  await c.start();
  return c;
}

const other = { id: 'b', term: 4, address: '10.0.0.2:50051', httpAddress: '10.0.0.2:8080' };

describe('LeaderSwitch', () => {
  it('refuses every call while standing by, naming the active leader', () => {
    const sw = new LeaderSwitch('a');
    sw.setActiveLeader(other);
    const refusal = (() => {
      try {
        sw.getTask(asTaskId('t1'));
      } catch (err) {
        return err;
      }
    })();
    expect(refusal).toBeInstanceOf(NotLeaderError);
    expect(refusal).toMatchObject({
      kind: 'not_leader',
      leaderAddress: '10.0.0.2:50051',
      leaderHttpAddress: '10.0.0.2:8080',
      message: 'this leader is a standby; the active leader is 10.0.0.2:50051 (term 4)',
    });
    expect(() => sw.members()).toThrow(NotLeaderError);
    expect(() => sw.events).toThrow(NotLeaderError);
    expect(() => sw.watchers).toThrow(NotLeaderError);
    expect(() => sw.scheduleTask({ payload: 'p' })).toThrow(NotLeaderError);
    expect(sw.ready).toBe(false);
  });

  it('says so when it cannot reach its database, and stops saying it once it can', () => {
    const sw = new LeaderSwitch('a');
    sw.setDatabaseTrouble('connect ECONNREFUSED 10.0.0.9:5432');
    expect(() => sw.members()).toThrow(
      'this leader is a standby and cannot reach its database (connect ECONNREFUSED 10.0.0.9:5432); retry shortly',
    );
    sw.setDatabaseTrouble(undefined);
    expect(() => sw.members()).toThrow(/knows of no active leader right now/);
  });

  it('names no leader when none is active, or when the lease names itself', () => {
    const sw = new LeaderSwitch('a');
    expect(() => sw.members()).toThrow(/knows of no active leader right now/);
    sw.setActiveLeader({ ...other, id: 'a' }); // its own lease, before it has loaded
    expect(sw.activeLeader).toBeUndefined();
    expect(() => sw.members()).toThrow(
      expect.objectContaining({ leaderAddress: undefined }) as Error,
    );
  });

  it('serves the coordinator while active, and refuses again once deactivated', async () => {
    const sw = new LeaderSwitch('a');
    const c = await coordinator();
    sw.activate(c);
    expect(sw.ready).toBe(true);
    const { task } = await sw.scheduleTask({ payload: 'p' });
    expect(sw.getTask(task.id)).toMatchObject({ id: 't1', status: 'pending' });
    expect(sw.deactivate()).toBe(c);
    expect(() => sw.getTask(task.id)).toThrow(NotLeaderError);
    // A stream that closes after the step-down is no error: the coordinator closed it.
    expect(() => sw.closeStream(asMemberId('w'), 1, 'gone')).not.toThrow();
  });

  it('refuses at once once its lease may have passed on, before it is deactivated', async () => {
    const sw = new LeaderSwitch('a');
    const c = await coordinator();
    let leaseHolds = true;
    sw.activate(c, () => leaseHolds);
    const { task } = await sw.scheduleTask({ payload: 'p' });
    leaseHolds = false; // woken from a freeze past its deadline; the watchdog has not run
    expect(sw.ready).toBe(false);
    expect(() => sw.getTask(task.id)).toThrow(NotLeaderError);
    expect(sw.standbyRefusal()).toBeInstanceOf(NotLeaderError);
    // A worker stream closing now declares nobody lost on the over term.
    const lose = vi.spyOn(c, 'closeStream');
    sw.closeStream(asMemberId('w'), 1, 'gone');
    expect(lose).not.toHaveBeenCalled();
  });
});
