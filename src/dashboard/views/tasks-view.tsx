import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ago, cut } from '../format.js';
import { go, useNow, useWatch } from '../hooks.js';
import { liveText } from '../live.js';
import { messageOf, useNotice } from '../notices.js';
import { shortPriority, STATUSES, type Task } from '../types.js';
import { StatusBadge } from './status-badge.js';
import { applyChanges, PAGE_SIZE, type Page } from '../task-page.js';

interface Filters {
  readonly status: string;
  readonly kind: string;
  readonly member: string;
}

/**
 * The task list, newest first, one page at a time (the leader pages in O(log n), so a
 * list of 100,000 costs what a list of 100 does). Live: the first page takes new tasks
 * that match the filters as they are saved, and every row on screen follows its task.
 * The filters are the address's (`#/tasks?kind=...`, `query`): a filter chosen here goes
 * into the address, and an address changed by a link, Back or by hand changes the list.
 * So is the page (`&pages=`, the tokens of the pages walked to it): a reload or a link
 * shows the same page, and Back goes to the newer one.
 */
export function TasksView({ query: address }: { query: URLSearchParams }) {
  const notice = useNotice();
  const now = useNow();
  const filters = filtersFrom(address);
  // Tokens of the pages walked to this one, from the address: '' is the first page.
  const tokens = ['', ...(address.get(PAGES) ?? '').split(',').filter(Boolean)];
  const setTokens = (walked: readonly string[]) => {
    const params = new URLSearchParams(address);
    if (walked.length > 1) params.set(PAGES, walked.slice(1).join(','));
    else params.delete(PAGES);
    window.location.hash = `#/tasks?${params.toString()}`;
  };
  const [page, setPage] = useState<Page | undefined>(undefined);
  const token = tokens[tokens.length - 1]!;
  const query = filterQuery(filters);

  const live = useWatch(`/v1/tasks:watch?snapshot=false${query}`, ['changed', 'deleted'], (batch) =>
    setPage((current) => current && applyChanges(current, batch, token === '', filters.status)),
  );

  // The page is read here, changes come by the watch; after the watch was lost (a leader
  // restart) the page is read again, since it may have missed changes.
  useEffect(() => {
    const abort = new AbortController();
    api<{ tasks?: Task[]; nextPageToken?: string }>(
      'GET',
      `/v1/tasks?newestFirst=true&pageSize=${PAGE_SIZE}${query}${token ? `&pageToken=${token}` : ''}`,
      undefined,
      abort.signal,
    ).then(
      (body) => setPage({ tasks: body.tasks ?? [], next: body.nextPageToken ?? '' }),
      (err: unknown) => {
        if (abort.signal.aborted) return;
        // Never the rows of another filter under this one's name, nor "no tasks" for a
        // list that could not be read.
        setPage({ tasks: [], next: '', error: messageOf(err) });
        notice('error', messageOf(err));
      },
    );
    return () => abort.abort();
  }, [query, token, live.reopened]);

  // A new history entry: Back returns to the filters before. The view is keyed by the
  // address's query, so the new filters start at their first page.
  const setFilter = (name: keyof Filters, value: string) => {
    const text = filterQuery({ ...filters, [name]: value }).slice(1);
    window.location.hash = `#/tasks${text ? `?${text}` : ''}`;
  };
  // Past the first page as it is now: after live inserts pushed rows off it, the token it
  // was read with starts too far back, so it is read again for a fresh one.
  const older = async () => {
    if (page === undefined) return;
    if (tokens.length > 1 || !page.overflowed) {
      if (page.next) setTokens([...tokens, page.next]);
      return;
    }
    try {
      const body = await api<{ nextPageToken?: string }>(
        'GET',
        `/v1/tasks?newestFirst=true&pageSize=${PAGE_SIZE}${query}`,
      );
      if (body.nextPageToken) setTokens(['', body.nextPageToken]);
      else notice('info', 'no older tasks: those pushed off this page have gone since');
    } catch (err) {
      notice('error', messageOf(err));
    }
  };
  return (
    <section>
      <TaskFilters filters={filters} onChange={setFilter} />
      <div class="table-head">
        <span class="muted">{liveText(live.state)}</span>
        <div class="pager">
          <button
            type="button"
            disabled={tokens.length === 1}
            onClick={() => setTokens(tokens.slice(0, -1))}
          >
            ‹ Newer
          </button>
          <button
            type="button"
            disabled={!page?.next && !(tokens.length === 1 && page?.overflowed)}
            onClick={() => void older()}
          >
            Older ›
          </button>
        </div>
      </div>
      {page === undefined ? (
        <p class="muted">loading…</p>
      ) : page.error !== undefined ? (
        <p class="muted empty">tasks cannot be shown: {page.error}</p>
      ) : (
        <TaskTable tasks={page.tasks} now={now} />
      )}
    </section>
  );
}

/** The address's parameter holding the page tokens walked (a token holds no comma). */
export const PAGES = 'pages';

/** The filters an address names (`?status=running&kind=resize&memberId=w1`). */
function filtersFrom(query: URLSearchParams): Filters {
  return {
    status: query.get('status') ?? '',
    kind: query.get('kind') ?? '',
    member: query.get('memberId') ?? '',
  };
}

/** `&status=..&kind=..&memberId=..` for the filters that are set. */
function filterQuery(filters: Filters): string {
  const params = new URLSearchParams();
  if (filters.status) params.set('status', filters.status);
  if (filters.kind) params.set('kind', filters.kind);
  if (filters.member) params.set('memberId', filters.member);
  const text = params.toString();
  return text ? `&${text}` : '';
}

function TaskFilters(props: {
  filters: Filters;
  onChange: (name: keyof Filters, value: string) => void;
}) {
  const [id, setId] = useState('');
  const { filters, onChange } = props;
  return (
    <div class="filters">
      <form
        class="search"
        onSubmit={(e) => {
          e.preventDefault();
          if (id.trim()) go('tasks', id.trim());
        }}
      >
        <input
          name="id"
          placeholder="task id"
          value={id}
          onInput={(e) => setId(e.currentTarget.value)}
        />
        <button type="submit">Open</button>
      </form>
      <label>
        Status
        <select
          name="status"
          value={filters.status}
          onChange={(e) => onChange('status', e.currentTarget.value)}
        >
          <option value="">any</option>
          {STATUSES.map((s) => (
            <option value={s} key={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <TextFilter label="Kind" name="kind" filters={filters} onChange={onChange} />
      <TextFilter label="Member" name="member" filters={filters} onChange={onChange} />
    </div>
  );
}

/**
 * A filter typed in full: applied on Enter or when the field is left, not per key. What is
 * typed is kept as a draft of its own: the list re-renders on every live change and every
 * clock tick, and a field bound to the applied filter alone was reset to it mid-typing,
 * losing the text (seen on a loaded machine, where a re-render came between the typing
 * and the Enter). A new address (a link, Back) replaces the draft.
 */
function TextFilter(props: {
  label: string;
  name: 'kind' | 'member';
  filters: Filters;
  onChange: (name: keyof Filters, value: string) => void;
}) {
  const { label, name, filters, onChange } = props;
  const applied = filters[name];
  const [draft, setDraft] = useState(applied);
  useEffect(() => setDraft(applied), [applied]);
  return (
    <label>
      {label}
      <input
        name={name}
        placeholder="Enter to apply"
        value={draft}
        onInput={(e) => setDraft(e.currentTarget.value)}
        onChange={(e) => onChange(name, e.currentTarget.value.trim())}
      />
    </label>
  );
}

function TaskTable({ tasks, now }: { tasks: readonly Task[]; now: number }) {
  if (tasks.length === 0) return <p class="muted empty">no tasks</p>;
  return (
    <table class="tasks">
      <thead>
        <tr>
          <th>ID</th>
          <th>Status</th>
          <th>Kind</th>
          <th>Priority</th>
          <th>Attempt</th>
          <th>Member</th>
          <th>Created</th>
          <th>Result / error</th>
        </tr>
      </thead>
      <tbody>
        {tasks.map((task) => (
          <tr key={task.id} data-task={task.id} onClick={() => go('tasks', task.id)}>
            <td data-label="ID">
              <a href={`#/tasks/${encodeURIComponent(task.id)}`}>{cut(task.id, 40)}</a>
            </td>
            <td data-label="Status">
              <StatusBadge task={task} />
            </td>
            <td data-label="Kind">{task.kind}</td>
            <td data-label="Priority">{shortPriority(task.priority)}</td>
            <td data-label="Attempt">{task.attempt ?? 0}</td>
            <td data-label="Member">{task.memberId}</td>
            <td data-label="Created">{ago(task.createdAt, now)}</td>
            <td data-label="Result" class={task.error ? 'error-text' : ''}>
              {cut(task.error ?? task.result, 80)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
