import { useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { duration } from '../format.js';
import { useNow, useWatch } from '../hooks.js';
import { messageOf, useNotice } from '../notices.js';
import { noWorkReason } from '../no-work-reason.js';
import type { Member } from '../types.js';

/** Members as the member watch shows them (snapshot, then every change), with drain. */
export function MembersView() {
  const notice = useNotice();
  const now = useNow();
  const [members, setMembers] = useState<ReadonlyMap<string, Member>>(new Map());
  const live = useWatch('/v1/members:watch', ['snapshot', 'changed', 'removed'], (batch) =>
    setMembers((current) => {
      const next = new Map(current);
      for (const [event, data] of batch) {
        const member = data as Member;
        if (event === 'removed') next.delete(member.id);
        else next.set(member.id, member);
      }
      return next;
    }),
  );
  const drain = (id: string) =>
    api('POST', `/v1/members/${seg(id)}:drain`).then(
      () => notice('info', `draining ${id}: it takes no new work, what it runs finishes`),
      (err: unknown) => notice('error', `drain failed: ${messageOf(err)}`),
    );
  const list = [...members.values()].sort((a, b) => a.id.localeCompare(b.id));
  return (
    <section>
      <p class="muted">
        {live === 'live'
          ? `${list.length} members, live`
          : live === 'retrying'
            ? 'live updates lost, reconnecting…'
            : 'connecting…'}
      </p>
      {list.length === 0 ? (
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
            {list.map((member) => (
              <MemberRow member={member} now={now} onDrain={drain} key={member.id} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function MemberRow({
  member,
  now,
  onDrain,
}: {
  member: Member;
  now: number;
  onDrain: (id: string) => unknown;
}) {
  const total = member.slotsTotal ?? 0;
  const used = total - (member.slotsFree ?? 0);
  const reason = noWorkReason(member, now);
  const age =
    member.lastHeartbeatAgeMs === undefined
      ? ''
      : `${duration(Number(member.lastHeartbeatAgeMs))} ago`;
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
          <meter min={0} max={Math.max(total, 1)} value={used} /> {used}/{total}
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
          <button type="button" onClick={() => onDrain(member.id)}>
            Drain
          </button>
        ) : null}
      </td>
    </tr>
  );
}
