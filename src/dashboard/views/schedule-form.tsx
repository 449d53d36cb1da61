import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useRefusal } from '../caller.js';
import { go } from '../hooks.js';
import { messageOf, useNotice } from '../notices.js';
import { parseDelay } from '../delay.js';

/** The form's fields, as typed. */
interface Draft {
  payload: string;
  kind: string;
  priority: string;
  id: string;
  delay: string;
  concurrencyKey: string;
  maxAttempts: string;
}

const EMPTY: Draft = {
  payload: '',
  kind: '',
  priority: 'TASK_PRIORITY_MEDIUM',
  id: '',
  delay: '',
  concurrencyKey: '',
  maxAttempts: '',
};

/** Max attempts as typed: a whole number, or a message saying what is expected. */
function parseAttempts(text: string): number {
  const n = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) {
    throw new Error(`max attempts "${text}": write a whole number (0: the cluster default)`);
  }
  return n;
}

/** Schedules one task through POST /v1/tasks; the leader checks every field. */
export function ScheduleForm() {
  const notice = useNotice();
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [busy, setBusy] = useState(false);
  const refused = useRefusal('write');
  const field = (name: keyof Draft) => ({
    name,
    value: draft[name],
    onInput: (e: Event) =>
      setDraft({ ...draft, [name]: (e.currentTarget as HTMLInputElement).value }),
  });
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const body: Record<string, unknown> = { payload: draft.payload, priority: draft.priority };
      if (draft.kind.trim()) body['kind'] = draft.kind.trim();
      if (draft.id.trim()) body['id'] = draft.id.trim();
      if (draft.concurrencyKey.trim()) body['concurrencyKey'] = draft.concurrencyKey.trim();
      if (draft.maxAttempts.trim()) body['maxAttempts'] = parseAttempts(draft.maxAttempts);
      const delayMs = parseDelay(draft.delay);
      if (delayMs !== undefined) body['delayMs'] = delayMs;
      const { id } = await api<{ id: string; existing?: boolean }>('POST', '/v1/tasks', body);
      notice('info', `scheduled ${id}`);
      go('tasks', id);
    } catch (err) {
      notice('error', `not scheduled: ${messageOf(err)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="schedule" onSubmit={submit}>
      <label class="wide">
        Payload
        <textarea rows={4} {...field('payload')} placeholder="what the handler receives" />
      </label>
      <label>
        Kind
        <input {...field('kind')} placeholder="default" />
      </label>
      <label>
        Priority
        <select {...field('priority')}>
          <option value="TASK_PRIORITY_HIGH">high</option>
          <option value="TASK_PRIORITY_MEDIUM">medium</option>
          <option value="TASK_PRIORITY_LOW">low</option>
        </select>
      </label>
      <label>
        Id
        <input {...field('id')} placeholder="made by the leader" />
      </label>
      <label>
        Delay
        <input {...field('delay')} placeholder="10m" />
      </label>
      <label>
        Concurrency key
        <input {...field('concurrencyKey')} placeholder="customer:42" />
      </label>
      <label>
        Max attempts
        <input {...field('maxAttempts')} inputMode="numeric" placeholder="cluster default" />
      </label>
      <div class="wide">
        <button
          type="submit"
          class="primary"
          disabled={busy || refused !== undefined}
          title={refused}
        >
          Schedule
        </button>
        {refused === undefined ? null : <span class="refused">{refused}.</span>}
      </div>
    </form>
  );
}
