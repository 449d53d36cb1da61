import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskDraft } from '../../src/client/task-draft.js';
import { launchChromium, skipBrowser } from '../helpers/chromium.js';
import { createToken } from '../helpers/cli-run.js';
import { useCluster } from '../helpers/use-cluster.js';

// The web dashboard (issue #19) in a real browser: Debian's Chromium driven by
// playwright-core, against a real leader and workers. Nothing here reloads the page to see
// a change: what the tests wait for must arrive over the leader's SSE watches.
// DROVER_SCREENSHOTS=1 writes each view to docs/dashboard/ (the README's pictures).

const SHOTS = process.env['DROVER_SCREENSHOTS']
  ? fileURLToPath(new URL('../../docs/dashboard/', import.meta.url))
  : mkdtempSync(join(tmpdir(), 'drover-dashboard-'));

/** Long enough for a leader, a worker and a browser on a busy 2-core machine. */
const UI_MS = 15_000;

describe.skipIf(skipBrowser)('web dashboard in Chromium', () => {
  const { cluster, clients } = useCluster();
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => browser?.close());

  /** A page on the leader's dashboard; fails the test on any script error in it. */
  async function open(http: string, hash = '#/tasks', viewport = { width: 1280, height: 800 }) {
    const page = await browser.newPage({ viewport });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
    await page.goto(`${http}/${hash}`);
    return { page, errors };
  }

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });

  it('lists live members and tasks; a task scheduled from the form appears, streams its output and completes without reload', async () => {
    const { address, http } = await cluster().startLeader();
    await cluster().startWorker(address, 'w1', ['--slots', '2']);
    const { page, errors } = await open(http, '#/members');
    await page
      .locator('tr[data-member="w1"] .badge', { hasText: 'alive' })
      .waitFor({ timeout: UI_MS });
    // A worker that joins while the page is open appears by itself.
    await cluster().startWorker(address, 'w2', ['--slots', '1']);
    await page.locator('tr[data-member="w2"]').waitFor({ timeout: UI_MS });
    // The header's counts follow too (the stats watch sends at most twice a second).
    await expect
      .poll(() => page.locator('.stats').textContent(), { timeout: UI_MS })
      .toContain('2 members alive');
    expect(await page.locator('.stats').textContent()).toContain('3/3 slots free');
    await shot(page, 'members');

    await page.getByRole('link', { name: 'Schedule' }).click();
    await page.locator('textarea[name="payload"]').fill('2400');
    await page.locator('input[name="kind"]').fill('demo');
    await page.locator('input[name="id"]').fill('from-the-form');
    await shot(page, 'schedule');
    await page.getByRole('button', { name: 'Schedule' }).click();
    // The form opens the new task's page; its output arrives while it runs.
    await page.locator('h1', { hasText: 'from-the-form' }).waitFor({ timeout: UI_MS });
    await expect
      .poll(() => page.locator('[data-output]').textContent(), { timeout: UI_MS })
      .toContain('demo task working');
    expect(await page.locator('.detail-head .badge').textContent()).toBe('running');
    await shot(page, 'task-live-output');
    await page.locator('.detail-head .badge', { hasText: 'completed' }).waitFor({ timeout: UI_MS });
    expect(await page.locator('pre').first().textContent()).toBe('worked 2400 ms');

    // The list: a task scheduled elsewhere (gRPC) shows up at the top and completes.
    await page.getByRole('link', { name: 'Tasks' }).click();
    await page.locator('tr[data-task="from-the-form"]').waitFor({ timeout: UI_MS });
    await clients(address).schedule({ id: 'from-grpc', payload: '300', kind: 'demo' });
    await page
      .locator('tr[data-task="from-grpc"] .badge', { hasText: 'completed' })
      .waitFor({ timeout: UI_MS });
    expect(await page.locator('tbody tr').first().getAttribute('data-task')).toBe('from-grpc');
    await expect.poll(() => page.locator('.stats').textContent()).toContain('3/3 slots free');
    await shot(page, 'tasks');
    expect(errors).toEqual([]);
  });

  it('cancels a running task, drains a member and undrains it, all seen live', async () => {
    const { address, http } = await cluster().startLeader();
    await cluster().startWorker(address, 'w1', ['--slots', '1']);
    const id = await clients(address).schedule({ id: 'long', payload: '60000', kind: 'demo' });
    const { page, errors } = await open(http, `#/tasks/${id}`);
    await page.locator('.detail-head .badge', { hasText: 'running' }).waitFor({ timeout: UI_MS });
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('.detail-head .badge', { hasText: 'cancelled' }).waitFor({ timeout: UI_MS });
    await page.locator('.notice', { hasText: 'cancelled: long' }).waitFor();

    await page.getByRole('link', { name: 'Members' }).click();
    await page.locator('tr[data-member="w1"] button', { hasText: 'Drain' }).click();
    // Two steps, as Delete: Keep backs out, nothing drained.
    await page.locator('tr[data-member="w1"] button', { hasText: 'Keep' }).click();
    await page.locator('tr[data-member="w1"] button', { hasText: 'Drain' }).click();
    await page.locator('tr[data-member="w1"] button', { hasText: 'Confirm drain' }).click();
    await page
      .locator('tr[data-member="w1"] .badge', { hasText: 'draining' })
      .waitFor({ timeout: UI_MS });
    expect(
      await page.locator('tr[data-member="w1"] td[data-label="Why no work"]').textContent(),
    ).toMatch(/^draining/);
    await expect
      .poll(() => page.locator('.stats').textContent(), { timeout: UI_MS })
      .toMatch(/0 running.*0 members alive.*0\/0 slots free/);
    await shot(page, 'members-drained');
    // Undrain: one step, and the member takes work again.
    await page.locator('tr[data-member="w1"] button', { hasText: 'Undrain' }).click();
    await page
      .locator('tr[data-member="w1"] .badge', { hasText: 'alive' })
      .waitFor({ timeout: UI_MS });
    await page.locator('.notice', { hasText: 'undrained w1' }).waitFor();
    await expect
      .poll(() => page.locator('.stats').textContent(), { timeout: UI_MS })
      .toMatch(/1 members? alive.*1\/1 slots free/);
    expect(errors).toEqual([]);
  });

  it('shows errors: a refused schedule, a failed task with its output, retry and delete, an unknown id', async () => {
    const { address, http } = await cluster().startLeader();
    await cluster().startWorker(address, 'w1', ['--allow-command', '/bin/sh']);
    const { page } = await open(http, '#/schedule');
    await page.locator('textarea[name="payload"]').fill('x');
    await page.locator('input[name="kind"]').fill('not a kind!');
    await page.getByRole('button', { name: 'Schedule' }).click();
    const refused = page.locator('.notice-error');
    await refused.waitFor({ timeout: UI_MS });
    expect(await refused.textContent()).toMatch(/^not scheduled: .*kind/);
    await shot(page, 'error-notice');

    const failing = JSON.stringify({ command: '/bin/sh', args: ['-c', 'echo half way; exit 3'] });
    await clients(address).schedule({
      id: 'fails',
      payload: failing,
      kind: 'command',
      maxAttempts: 1,
    });
    await page.goto(`${http}/#/tasks/fails`);
    await page.locator('.detail-head .badge', { hasText: 'error' }).waitFor({ timeout: UI_MS });
    expect(await page.locator('pre.error-text').textContent()).toMatch(/exit|3/);
    await expect.poll(() => page.locator('[data-output]').textContent()).toContain('half way');
    // Its attempts: where it ran, how it ended, why.
    await expect
      .poll(() => page.locator('tr[data-attempt="1"]').textContent(), { timeout: UI_MS })
      .toMatch(/^1w1.*error.*exit/);
    await shot(page, 'task-error');

    // Re-run: a new attempt series; its output is followed again.
    await page.getByRole('button', { name: 'Retry' }).click();
    await expect
      .poll(() => page.locator('[data-field="Attempt"] dd').textContent(), { timeout: UI_MS })
      .toMatch(/^2 of 2/);
    await page.locator('.detail-head .badge', { hasText: 'error' }).waitFor({ timeout: UI_MS });
    await expect
      .poll(() => page.locator('tr[data-attempt="2"] .badge').textContent(), { timeout: UI_MS })
      .toBe('error');
    expect(await page.locator('tr[data-attempt]').count()).toBe(2);
    // Each attempt's output under a line that says which it is.
    await expect
      .poll(() => page.locator('[data-output]').textContent(), { timeout: UI_MS })
      .toMatch(/^(INFO command started .*\n)?half way\n── attempt 2 ──\n(INFO .*\n)?half way\n$/);

    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('button', { name: 'Confirm delete' }).click();
    await page.waitForURL(/#\/tasks$/, { timeout: UI_MS });
    const gone = await fetch(`${http}/v1/tasks/fails`);
    expect(gone.status).toBe(404);

    await page.goto(`${http}/#/tasks/no-such-task`);
    // The API's own words: the task does not exist.
    await page.locator('.notice-error', { hasText: 'no-such-task' }).waitFor({ timeout: UI_MS });
  });

  it('stays small with 100,000 tasks: one page is fetched and the watch sends no snapshot; filters and paging work; usable on a phone', async () => {
    const { address, http } = await cluster().startLeader(['--store', 'memory']);
    const api = clients(address);
    // No worker takes kind "bulk": all 100,000 stay queued.
    for (let batch = 0; batch < 10; batch++) {
      await api.call(api.scheduler, api.scheduler.scheduleTasks, {
        tasks: Array.from({ length: 10_000 }, (_, i) =>
          taskDraft({
            id: `bulk-${batch * 10_000 + i}`,
            payload: 'x',
            kind: i % 10 === 0 ? 'rare' : 'bulk',
          }),
        ),
      });
    }
    const { page, errors } = await open(http, '#/tasks', { width: 390, height: 844 });
    let bytes = 0;
    page.on('response', (response) => {
      void response.body().then(
        (body) => (bytes += body.length),
        () => {}, // an SSE stream has no finished body to read
      );
    });
    await page.locator('tbody tr').nth(49).waitFor({ timeout: UI_MS });
    // Newest first, and a phone shows cards, not a table header.
    expect(await page.locator('tbody tr').first().getAttribute('data-task')).toBe('bulk-99999');
    expect(await page.locator('thead').isVisible()).toBe(false);
    await expect.poll(() => page.locator('.stats').textContent()).toContain('100,000 queued');
    await shot(page, 'phone-tasks');

    await page.getByRole('button', { name: 'Older ›' }).click();
    await page.locator('tr[data-task="bulk-99949"]').waitFor({ timeout: UI_MS });
    // A new task goes on the first page only, never on top of page 2. The cancel after it
    // comes on the same watch, so once page 2 shows it, the new task had its chance.
    await api.schedule({ id: 'bulk-new', payload: 'x', kind: 'bulk' });
    await api.call(api.scheduler, api.scheduler.cancelTask, { id: 'bulk-99949' });
    await page
      .locator('tr[data-task="bulk-99949"] .badge', { hasText: 'cancelled' })
      .waitFor({ timeout: UI_MS });
    expect(await page.locator('tr[data-task="bulk-new"]').count()).toBe(0);
    expect(await page.locator('tbody tr').first().getAttribute('data-task')).toBe('bulk-99949');
    await page.locator('input[name="kind"]').fill('rare');
    await page.locator('input[name="kind"]').press('Enter');
    await page.locator('input[name="kind"]').blur();
    await page.locator('tr[data-task="bulk-99990"]').waitFor({ timeout: UI_MS });
    expect(await page.locator('tbody tr').count()).toBe(50);
    // The filter is in the address: Back from a task returns to the filtered list.
    expect(page.url()).toMatch(/#\/tasks\?kind=rare$/);
    await page.locator('tr[data-task="bulk-99990"] a').click();
    await page.locator('h1', { hasText: 'bulk-99990' }).waitFor({ timeout: UI_MS });
    await page.goBack();
    await page.locator('tr[data-task="bulk-99990"]').waitFor({ timeout: UI_MS });
    expect(await page.locator('input[name="kind"]').inputValue()).toBe('rare');

    // A new task while the page is open reaches it at the top, without a snapshot of the rest.
    await api.schedule({ id: 'rare-new', payload: 'x', kind: 'rare' });
    await page
      .locator('tbody tr')
      .first()
      .and(page.locator('[data-task="rare-new"]'))
      .waitFor({ timeout: UI_MS });
    // Three pages and their scripts: far under what one snapshot of 100,000 tasks would be.
    expect(bytes).toBeLessThan(1_000_000);
    expect(errors).toEqual([]);
  }, 60_000);

  it('the list follows the address (a link, Back, a typed address), and Older reaches rows live tasks pushed off', async () => {
    const { address, http } = await cluster().startLeader(['--store', 'memory']);
    const api = clients(address);
    // No worker: every task stays queued. 40 of kind "a", then 5 of kind "b".
    for (let i = 0; i < 40; i++) await api.schedule({ id: `a-${i}`, payload: 'x', kind: 'a' });
    for (let i = 0; i < 5; i++) await api.schedule({ id: `b-${i}`, payload: 'x', kind: 'b' });
    const { page, errors } = await open(http);
    const rows = page.locator('tbody tr');
    await expect.poll(() => rows.count(), { timeout: UI_MS }).toBe(45);
    const older = page.getByRole('button', { name: 'Older ›' });
    expect(await older.isDisabled()).toBe(true);

    await page.locator('input[name="kind"]').fill('b');
    // A live change re-renders the list between the typing and the Enter: what was typed
    // stays (it was once reset to the applied filter, and the Enter then applied nothing).
    await api.cancel('a-39');
    await page.locator('tr[data-task="a-39"]', { hasText: 'cancelled' }).waitFor({
      timeout: UI_MS,
    });
    expect(await page.locator('input[name="kind"]').inputValue()).toBe('b');
    await page.locator('input[name="kind"]').press('Enter');
    await expect.poll(() => rows.count(), { timeout: UI_MS }).toBe(5);
    expect(page.url()).toMatch(/#\/tasks\?kind=b$/);
    // The header's link to all tasks clears the filter, list and field alike.
    await page.locator('nav a', { hasText: 'Tasks' }).click();
    await expect.poll(() => rows.count(), { timeout: UI_MS }).toBe(45);
    expect(await page.locator('input[name="kind"]').inputValue()).toBe('');
    // Back returns to the filter before; an address typed by hand is followed too.
    await page.goBack();
    await expect.poll(() => rows.count(), { timeout: UI_MS }).toBe(5);
    expect(await page.locator('input[name="kind"]').inputValue()).toBe('b');
    await page.evaluate('location.hash = "#/tasks?kind=a"');
    await expect.poll(() => rows.count(), { timeout: UI_MS }).toBe(40);

    // Ten new tasks while the first page is open: 50 shown, the five oldest pushed off,
    // and Older (disabled when the page was read) reaches exactly those.
    await page.locator('nav a', { hasText: 'Tasks' }).click();
    await expect.poll(() => rows.count(), { timeout: UI_MS }).toBe(45);
    for (let i = 0; i < 10; i++) await api.schedule({ id: `c-${i}`, payload: 'x', kind: 'c' });
    await page.locator('tbody tr').first().and(page.locator('[data-task="c-9"]')).waitFor({
      timeout: UI_MS,
    });
    await expect.poll(() => rows.count(), { timeout: UI_MS }).toBe(50);
    await older.click();
    await expect
      .poll(async () => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-task'))), {
        timeout: UI_MS,
      })
      .toEqual(['a-4', 'a-3', 'a-2', 'a-1', 'a-0']);
    // The page is in the address: a reload shows it again, Back returns to the first page.
    expect(page.url()).toMatch(/#\/tasks\?pages=\d+$/);
    await page.reload();
    await expect
      .poll(async () => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-task'))), {
        timeout: UI_MS,
      })
      .toEqual(['a-4', 'a-3', 'a-2', 'a-1', 'a-0']);
    await page.goBack();
    await expect.poll(() => rows.count(), { timeout: UI_MS }).toBe(50);
    expect(await older.isDisabled()).toBe(false);
    expect(errors).toEqual([]);
  }, 60_000);

  it('reads the page and the open task again when the leader comes back, so nothing missed stays on screen', async () => {
    const dataDir = cluster().dataDir();
    const first = await cluster().startLeader(['--data-dir', dataDir]);
    const port = new URL(first.http).port;
    const post = (path: string, body?: unknown) =>
      fetch(`${first.http}${path}`, {
        method: 'POST',
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
    // Kind "nobody": no worker runs them, so they stay as the test leaves them.
    expect((await post('/v1/tasks', { id: 'before', payload: 'x', kind: 'nobody' })).status).toBe(
      201,
    );
    const list = await open(first.http, '#/tasks');
    await list.page.locator('tr[data-task="before"]').waitFor({ timeout: UI_MS });
    const detail = await open(first.http, '#/tasks/before');
    await detail.page
      .locator('.detail-head .badge', { hasText: 'pending' })
      .waitFor({ timeout: UI_MS });

    first.process.kill('SIGKILL');
    await first.process.exited;
    await cluster().startLeader(
      ['--data-dir', dataDir, '--http-listen', `127.0.0.1:${port}`],
      'leader-again',
    );
    // Changes while the pages' streams are still down (the browser retries after ~3 s).
    expect((await post('/v1/tasks', { id: 'during', payload: 'x', kind: 'nobody' })).status).toBe(
      201,
    );
    expect((await post('/v1/tasks/before:cancel')).status).toBe(200);

    await list.page.locator('tr[data-task="during"]').waitFor({ timeout: UI_MS });
    await list.page
      .locator('tr[data-task="before"] .badge', { hasText: 'cancelled' })
      .waitFor({ timeout: UI_MS });
    await detail.page
      .locator('.detail-head .badge', { hasText: 'cancelled' })
      .waitFor({ timeout: UI_MS });
    expect(await list.page.locator('.table-head .muted').textContent()).toBe('live');
  });

  it("follows a running task's output across a leader restart", async () => {
    const dataDir = cluster().dataDir();
    const first = await cluster().startLeader(['--data-dir', dataDir]);
    await cluster().startWorker(first.address, 'w1', ['--allow-command', '/bin/sh']);
    // The command waits for a file the test makes once the new leader is up.
    const gate = `/tmp/drover-gate-${process.pid}-${Date.now()}`;
    const wait = `i=0; while [ ! -e ${gate} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done`;
    await clients(first.address).schedule({
      id: 'ticks',
      kind: 'command',
      payload: JSON.stringify({
        command: '/bin/sh',
        args: ['-c', `echo before; ${wait}; echo after`],
      }),
    });
    const { page } = await open(first.http, '#/tasks/ticks');
    const output = page.locator('[data-output]');
    await output.filter({ hasText: 'before' }).waitFor({ timeout: UI_MS });

    first.process.kill('SIGKILL');
    await first.process.exited;
    const port = new URL(first.http).port;
    await cluster().startLeader(
      ['--data-dir', dataDir, '--listen', first.address, '--http-listen', `127.0.0.1:${port}`],
      'leader-again',
    );
    writeFileSync(gate, '');
    // The follow the kill broke is taken up again: what the task wrote since shows.
    await output.filter({ hasText: 'after' }).waitFor({ timeout: UI_MS });
    const text = (await output.textContent()) ?? '';
    expect(text).toMatch(/\bbefore\n[\s\S]*\bafter\n/);
    expect(text.match(/\bbefore\n/g)).toHaveLength(1); // nothing shown twice
  });

  it('asks for a token when the leader has tokens, then works within that token’s role', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'drover-tokens-')), 'tokens.json');
    const read = await createToken(file, 'read');
    const write = await createToken(file, 'write');
    const { http } = await cluster().startLeader(['--store', 'memory', '--tokens-file', file]);
    const schedule = (id: string) =>
      fetch(`${http}/v1/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${write}` },
        body: JSON.stringify({ id, payload: 'x', kind: 'nobody' }),
      });
    expect((await schedule('guarded')).status).toBe(201);
    const { page } = await open(http, '#/tasks');
    // Refused, the list says so: not "no tasks".
    await page
      .locator('p.empty', { hasText: 'tasks cannot be shown: this leader needs a token' })
      .waitFor({ timeout: UI_MS });
    await page.goto(`${http}/#/members`);
    await page
      .locator('p.empty', { hasText: 'members cannot be shown: the leader refused' })
      .waitFor({ timeout: UI_MS });
    await page.goto(`${http}/#/tasks`);
    await page.locator('input[name="token"]').fill(read);
    await page.getByRole('button', { name: 'Use' }).click();
    await page.locator('tr[data-task="guarded"]').waitFor({ timeout: UI_MS });
    // The watch carries the token too: a new task arrives live.
    expect((await schedule('guarded-2')).status).toBe(201);
    await page.locator('tr[data-task="guarded-2"]').waitFor({ timeout: UI_MS });
    // A read token may look, not act: what it may not do is offered disabled, saying why.
    await page.locator('tr[data-task="guarded"] a').click();
    const cancel = page.getByRole('button', { name: 'Cancel' });
    await expect.poll(() => cancel.isDisabled(), { timeout: UI_MS }).toBe(true);
    expect(await cancel.getAttribute('title')).toBe('this token has role read; this needs write');
    await page.evaluate('location.hash = "#/schedule"');
    await page
      .locator('.refused', { hasText: 'this token has role read; this needs write.' })
      .waitFor({ timeout: UI_MS });
    expect(await page.getByRole('button', { name: 'Schedule' }).isDisabled()).toBe(true);
    await shot(page, 'token-refused');
  });
});
