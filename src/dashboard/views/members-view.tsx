import { useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { useRefusal } from '../caller.js';
import { duration } from '../format.js';
import { useNow, useWatch } from '../hooks.js';
import { liveText, OPENED } from '../live.js';
import { messageOf, useNotice } from '../notices.js';
import { noWorkReason } from '../no-work-reason.js';
import type { Member } from '../types.js';

/** Members as the member watch shows them (snapshot, then every change), with drain and undrain. */
export function MembersView() {
  const notice = useNotice();
  const now = useNow();
  const [members, setMembers] = useState<ReadonlyMap<string, Seen>>(new Map());
  const live = useWatch('/v1/members:watch', ['snapshot', 'changed', 'removed'], (batch) =>
    setMembers((current) => {
      const receivedMs = Date.now();
      let next = new Map(current);
      for (const [event, data] of batch) {
        // Each (re)opened stream starts with a snapshot of every member: start over, so a
        // member removed while the stream was down does not linger.
        if (event === OPENED) next = new Map();
        else if (event === 'removed') next.delete((data as Member).id);
        else next.set((data as Member).id, { member: data as Member, receivedMs });
      }
      return next;
    }),
  ).state;
  const drain = (id: string) =>
    api('POST', `/v1/members/${seg(id)}:drain`).then(
      () => notice('info', `draining ${id}: it takes no new work, what it runs finishes`),
      (err: unknown) => notice('error', `drain failed: ${messageOf(err)}`),
    );
  // The leader refuses (409) to undrain a worker that drains on its own (it is leaving).
  const undrain = (id: string) =>
    api('POST', `/v1/members/${seg(id)}:undrain`).then(
      () => notice('info', `undrained ${id}: it takes new work again`),
      (err: unknown) => notice('error', `undrain failed: ${messageOf(err)}`),
    );
  const actions = { drain, undrain };
  const list = [...members.values()].sort((a, b) => a.member.id.localeCompare(b.member.id));
  return (
    <section>
      <p class="muted">
        {live === 'live'
          ? `${list.length} member${list.length === 1 ? '' : 's'}, live`
          : liveText(live)}
      </p>
      {list.length === 0 && live === 'closed' ? (
        // Refused (a token without the read role, say): not "no members".
        <p class="muted empty">members cannot be shown: the leader refused to list them</p>
      ) : list.length === 0 ? (
        <p class="muted empty">no members: start a worker (drover worker --leader ...)</p>
      ) : (
        <table class="members">
          <thead>
            <tr>
              <th>ID</th>
              <th>State</th>
              <th>Slots</th>
              <th>Kinds</th>
              <th>Heartbeat</th>
              <th>Why no work</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((seen) => (
              <MemberRow seen={seen} now={now} actions={actions} key={seen.member.id} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** A member as the watch last sent it, and when that was (its heartbeat age moves on). */
interface Seen {
  readonly member: Member;
  readonly receivedMs: number;
}

/** What an operator can do to a member from its row. */
interface MemberActions {
  readonly drain: (id: string) => unknown;
  readonly undrain: (id: string) => unknown;
}

function MemberRow({ seen, now, actions }: { seen: Seen; now: number; actions: MemberActions }) {
  const { member, receivedMs } = seen;
  const total = member.slotsTotal ?? 0;
  const used = total - (member.slotsFree ?? 0);
  const reason = noWorkReason(member, now);
  // The watch sends a member when it changes, not per heartbeat: an alive member's
  // heartbeats are on time by definition (the leader makes a late one suspect, and that
  // change comes at once); a suspect's silence grows from the age it was sent with.
  const silentMs = Number(member.lastHeartbeatAgeMs ?? 0) + Math.max(0, now - receivedMs);
  // A draining member heartbeats as an alive one does (it goes suspect when late too).
  const age =
    member.status === 'alive' || member.status === 'draining'
      ? 'on time'
      : member.status === 'suspect'
        ? `late: ${duration(silentMs)} ago`
        : '';
  return (
    <tr data-member={member.id}>
      <td data-label="ID">
        <span title={member.address}>{member.id}</span>
      </td>
      <td data-label="State">
        <span class={`badge member-${member.status ?? ''}`}>{member.status}</span>
      </td>
      <td data-label="Slots">
        <span class="slots" title={`${used} of ${total} in use`}>
          <meter min={0} max={Math.max(total, 1)} value={used} /> {used}/{total} busy
          {member.slotsStopping ? ` (${member.slotsStopping} stopping)` : ''}
        </span>
      </td>
      <td data-label="Kinds">{(member.kinds ?? []).join(', ')}</td>
      <td data-label="Heartbeat">{age}</td>
      <td data-label="Why no work" class={reason ? 'warn-text' : ''}>
        {reason || '-'}
      </td>
      <td>
        {member.status === 'alive' || member.status === 'suspect' ? (
          <DrainButton onDrain={() => actions.drain(member.id)} />
        ) : member.status === 'draining' ? (
          <UndrainButton onUndrain={() => actions.undrain(member.id)} />
        ) : null}
      </td>
    </tr>
  );
}

/**
 * Drain in two steps, as Delete is: a drained member gets no new work and its running
 * tasks finish, so one stray tap must not do it. (Undrain is one step: it only gives work.)
 */
function DrainButton({ onDrain }: { onDrain: () => unknown }) {
  const [confirming, setConfirming] = useState(false);
  const refused = useRefusal('admin');
  if (!confirming) {
    return (
      <button
        type="button"
        disabled={refused !== undefined}
        title={refused}
        onClick={() => setConfirming(true)}
      >
        Drain
      </button>
    );
  }
  return (
    <>
      <button type="button" onClick={() => setConfirming(false)}>
        Keep
      </button>
      <button
        type="button"
        class="danger"
        onClick={() => {
          // Back to one button whatever the answer: a refusal is told in a notice.
          setConfirming(false);
          onDrain();
        }}
      >
        Confirm drain
      </button>
    </>
  );
}

/** Undrain: one step, since it only gives work. */
function UndrainButton({ onUndrain }: { onUndrain: () => unknown }) {
  const refused = useRefusal('admin');
  return (
    <button type="button" disabled={refused !== undefined} title={refused} onClick={onUndrain}>
      Undrain
    </button>
  );
}
