import { render } from 'preact';
import { useState } from 'preact/hooks';
import { useRoute, useWatch } from './hooks.js';
import { NoticeProvider } from './notices.js';
import { TokenBox } from './token-box.js';
import type { Stats } from './types.js';
import { MembersView } from './views/members-view.js';
import { ScheduleForm } from './views/schedule-form.js';
import { TaskDetail } from './views/task-detail.js';
import { PAGES, TasksView } from './views/tasks-view.js';

/** The dashboard: a header with live counts, then the view the location hash names. */
function App() {
  const route = useRoute();
  const [view, id] = route.parts;
  const current = view ?? 'tasks';
  // One list view per set of filters: its pages move within it, its watch stays open.
  const filters = listFilters(route.query);
  return (
    <NoticeProvider>
      <header class="top">
        <a class="brand" href="#/tasks">
          drover
        </a>
        <nav>
          <a href="#/tasks" class={current === 'tasks' ? 'active' : ''}>
            Tasks
          </a>
          <a href="#/members" class={current === 'members' ? 'active' : ''}>
            Members
          </a>
          <a href="#/schedule" class={current === 'schedule' ? 'active' : ''}>
            Schedule
          </a>
        </nav>
        <StatsBar />
        <TokenBox />
      </header>
      <main>
        {current === 'members' ? (
          <MembersView />
        ) : current === 'schedule' ? (
          <ScheduleForm />
        ) : id !== undefined ? (
          <TaskDetail id={id} key={id} />
        ) : (
          <TasksView query={route.query} key={filters} />
        )}
      </main>
    </NoticeProvider>
  );
}

/** The address's query without the list's page: what keys the list view. */
function listFilters(query: URLSearchParams): string {
  const filters = new URLSearchParams(query);
  filters.delete(PAGES);
  return filters.toString();
}

/** Counts from the leader's stats watch: pushed after changes, at most twice a second. */
function StatsBar() {
  const [stats, setStats] = useState<Stats | undefined>(undefined);
  const live = useWatch('/v1/stats:watch', ['stats'], (batch) => {
    const last = batch.findLast(([event]) => event === 'stats');
    if (last) setStats(last[1] as Stats);
  }).state;
  if (stats === undefined)
    return <div class="stats">{live === 'retrying' ? 'leader unreachable' : '…'}</div>;
  const t = stats.tasks;
  return (
    <div class="stats" data-live={live}>
      <span title="pending">{count(t['pending'] ?? 0)} queued</span>
      <span title="running">{count(t['running'] ?? 0)} running</span>
      <span title="scheduled for later">{count(t['scheduled'] ?? 0)} later</span>
      <span title="failed">{count(t['error'] ?? 0)} failed</span>
      <span title="members alive (of all listed)">
        {plural(stats.members['alive'] ?? 0, 'member')} alive
      </span>
      <span title="free / total slots of members taking work (alive or suspect)">
        {stats.slots.free}/{stats.slots.total} slots free
      </span>
      {live === 'retrying' || live === 'closed' ? <span class="offline">reconnecting…</span> : null}
    </div>
  );
}

/** A count as the reader's locale writes it (100,000). */
const count = (n: number): string => n.toLocaleString();

/** "1 member", "3 members". */
const plural = (n: number, noun: string): string => `${count(n)} ${noun}${n === 1 ? '' : 's'}`;

render(<App />, document.getElementById('app')!);
