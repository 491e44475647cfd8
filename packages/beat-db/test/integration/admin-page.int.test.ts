/**
 * The admin page in a real browser (Debian's headless Chromium through playwright-core): a user creates
 * a schedule, edits its cron, disables it, runs it now, enables it in bulk and deletes it, while a
 * DatabaseScheduler on the same SQLite database picks up each change and a worker runs what was sent.
 * Also: field errors next to their field, output escaped, no script error and no CSP violation, and a
 * 100,000-row table that the page pages and searches on the server.
 */
import 'reflect-metadata';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { beatAdminRouter } from '@celeriac/beat-db/express';
import { MemoryBroker, MemoryKeyValueStore, Worker, type Celeriac } from '@celeriac/core';
import express from 'express';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { memoryApp } from '../../../core/test/helpers/memory-app';
import { IntervalScheduleEntity, PeriodicTaskEntity, TABLES } from '../../src/entities';
import { DatabaseScheduler } from '../../src/scheduler';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(60_000);

const MOUNT = '/admin/periodic-tasks';
// The actor is shown in the server-rendered header: markup in it must come out as text too.
const USER = { username: 'ops <i>&amp;</i>', password: 'correct horse battery' };
const XSS = '<img src=x onerror="window.__xss = 1"> nightly <b>rollup</b>';
const WAIT = 15_000;

/** Retries an assertion until it passes or `timeout` ms have gone by (then throws its last failure). */
async function eventually(assertion: () => Promise<void>, timeout = WAIT): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await assertion();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const visible = (locator: Locator) => locator.waitFor({ state: 'visible', timeout: WAIT });
// Read in one step in the page: rows re-rendered between listing and reading (a search typed key by key)
// would otherwise leave a locator waiting for a row that is gone.
const attributes = (locator: Locator, name: string): Promise<Array<string | null>> => locator.evaluateAll((rows, attr) => rows.map((row) => row.getAttribute(attr)), name);

describe('admin page in Chromium', () => {
  let db: TestDatabase;
  let app: Celeriac;
  let worker: Worker;
  let scheduler: DatabaseScheduler;
  let server: Server;
  let browser: Browser;
  let page: Page;
  let url: string;
  const ran: string[] = [];
  const pageProblems: string[] = [];
  const beatSent: string[] = [];
  const schedulerErrors: unknown[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    app = memoryApp();
    app.task('reports.nightly', async (region: string) => {
      ran.push(region);
      return 'done';
    });
    worker = new Worker(app);
    await worker.start();
    // Polling fast, so every change is picked up within a moment; tick() runs one more pass on demand.
    scheduler = new DatabaseScheduler(app, { dataSource: db.dataSource, pollInterval: 0.2, historyRefreshInterval: 0.2 });
    scheduler.on('sent', (info) => beatSent.push(info.entry));
    scheduler.on('error', (err) => schedulerErrors.push(err));
    await scheduler.start();
    const web = express();
    web.use(MOUNT, beatAdminRouter({ dataSource: db.dataSource, app, auth: { basic: USER } }));
    server = web.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${MOUNT}`;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
    const context = await browser.newContext({ httpCredentials: USER, locale: 'en-US', viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    page.on('pageerror', (err) => pageProblems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (/Content.Security.Policy|Refused to/i.test(msg.text())) pageProblems.push(`console: ${msg.text()}`);
    });
    page.on('dialog', (dialog) => void dialog.accept());
    // The router sends a strict policy (no inline script or style, nothing from elsewhere); the
    // console listener above reports anything the page does that it refuses.
    page.on('response', (response) => {
      if (response.url().startsWith(url) && !/default-src 'self'/.test(response.headers()['content-security-policy'] ?? '')) pageProblems.push(`no strict CSP on ${response.url()}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await scheduler?.close();
    await worker?.close();
    await app?.close();
    await db?.drop();
    MemoryBroker.reset();
    MemoryKeyValueStore.reset();
  });

  const row = () => page.locator('[data-testid="row"][data-name="nightly report"]');
  const stored = () => db.dataSource.getRepository(PeriodicTaskEntity).findOneByOrFail({ name: 'nightly report' });
  /** One more scheduler pass (after any in flight), then the table reloaded. */
  async function tick(): Promise<void> {
    await scheduler.tick();
    await page.getByTestId('refresh').click();
  }
  /** Waits until the form's schedule preview is up to date. */
  const previewed = () => page.locator('#preview:not([aria-busy])').waitFor({ timeout: WAIT });
  const nextRunIso = () => row().locator('[data-testid="next-run"] time').getAttribute('data-iso');

  it('creates a crontab schedule in the form, with field errors shown next to their field', async () => {
    await page.goto(url);
    expect(await page.getByTestId('actor').textContent()).toBe(USER.username);
    expect(await page.locator('header i').count()).toBe(0);
    await page.getByTestId('new-task').click();
    await page.locator('#f-name').fill('nightly report');
    await page.locator('#f-task').fill('reports');
    // Task names come from the server as you type, not from a dropdown of every task.
    await eventually(async () => expect(await attributes(page.locator('#task-options option'), 'value')).toContain('reports.nightly'));
    await page.locator('#f-task').fill('reports.nightly');
    await page.locator('#f-description').fill(XSS);
    await page.getByTestId('kind-crontab').check();
    await page.locator('#f-schedule-minute').fill('61');
    await page.locator('#f-schedule-hour').fill('3');
    await page.locator('#f-kwargs').fill('{"region": "eu"}');
    await page.getByTestId('save').click();
    await visible(page.getByTestId('error-schedule.minute'));
    expect(await page.getByTestId('error-schedule.minute').textContent()).toContain('61');

    await page.locator('#f-schedule-minute').fill('0');
    await previewed();
    expect(await page.getByTestId('preview-text').textContent()).toContain('03:00');
    expect(await page.getByTestId('preview-runs').locator('li').count()).toBe(5);
    await page.getByTestId('save').click();
    await page.getByTestId('editor').waitFor({ state: 'hidden', timeout: WAIT });
    await visible(row());
    expect(await row().getByTestId('schedule').textContent()).toContain('03:00');

    // Shown as text: no <img> was made, its onerror never ran.
    expect(await row().getByTestId('description').textContent()).toBe(XSS);
    expect(await row().locator('img, b').count()).toBe(0);
    expect(await page.evaluate('window.__xss')).toBeUndefined();

    // Search runs on the server as you type.
    await page.getByTestId('search').fill('no such schedule');
    await page.locator('#empty').waitFor({ state: 'visible', timeout: WAIT });
    await page.getByTestId('search').fill('nightly');
    await visible(row());
  });

  it('shows the next run the scheduler computed', async () => {
    await tick();
    const next = (await stored()).nextRunAt;
    expect(next).not.toBeNull();
    expect([next!.getUTCHours(), next!.getUTCMinutes()]).toEqual([3, 0]);
    await eventually(async () => expect(await nextRunIso()).toBe(next!.toISOString()));
  });

  it('edits the cron; the scheduler moves the next run', async () => {
    await row().getByTestId('edit').click();
    await eventually(async () => expect(await page.locator('#f-schedule-hour').inputValue()).toBe('3'));
    await page.locator('#f-schedule-hour').fill('4');
    await page.locator('#f-schedule-minute').fill('30');
    await previewed();
    expect(await page.getByTestId('preview-text').textContent()).toContain('04:30');
    await page.getByTestId('save').click();
    await page.getByTestId('editor').waitFor({ state: 'hidden', timeout: WAIT });
    await eventually(async () => expect(await row().getByTestId('schedule').textContent()).toContain('04:30'));

    await tick();
    const next = (await stored()).nextRunAt;
    expect([next!.getUTCHours(), next!.getUTCMinutes()]).toEqual([4, 30]);
    await eventually(async () => expect(await nextRunIso()).toBe(next!.toISOString()));
  });

  it('disables it; the scheduler leaves it alone', async () => {
    await row().getByTestId('toggle-enabled').click();
    await eventually(async () => expect((await stored()).enabled).toBe(false));
    await tick();
    expect((await stored()).nextRunAt).toBeNull();
    await eventually(async () => expect(await row().getByTestId('next-run').textContent()).toBe('disabled'));
    expect(await row().getByTestId('toggle-enabled').isChecked()).toBe(false);
  });

  it('runs it now: the worker runs it and the run shows in its history', async () => {
    await row().getByTestId('run').click();
    const detail = page.getByTestId('detail');
    await visible(detail);
    await eventually(async () => expect(await detail.getByTestId('history-run').count()).toBe(1));
    await eventually(async () => expect(ran).toEqual(['eu']));
    // The scheduler copies the final state from the result backend; the open panel refreshes itself.
    await eventually(async () => {
      await scheduler.tick();
      expect(await detail.getByTestId('run-state').first().textContent()).toBe('SUCCESS');
    });
    const actions = () => attributes(detail.getByTestId('audit-entry'), 'data-action');
    await eventually(async () => expect(await actions()).toEqual(['run', 'disable', 'update', 'create']));
    await page.getByTestId('show-audit').click();
    await eventually(async () => expect(await page.getByTestId('audit-page').getByTestId('audit-entry').count()).toBe(4));

    await page.getByTestId('show-audit').click(); // closes it again
  });

  it('enables it again in bulk, then deletes it', async () => {
    await row().locator('input.select').check();
    await page.locator('[data-bulk="enable"]').click();
    await eventually(async () => expect((await stored()).enabled).toBe(true));
    await tick();
    const next = (await stored()).nextRunAt;
    expect([next!.getUTCHours(), next!.getUTCMinutes()]).toEqual([4, 30]);
    await eventually(async () => expect(await nextRunIso()).toBe(next!.toISOString()));

    await row().getByTestId('delete').click(); // the confirm() is accepted
    await row().waitFor({ state: 'detached', timeout: WAIT });
    expect(await db.dataSource.getRepository(PeriodicTaskEntity).count()).toBe(0);

    // Beat itself sent nothing: the schedule was never due.
    expect(beatSent).toEqual([]);
    expect(schedulerErrors).toEqual([]);
    expect(pageProblems).toEqual([]);
  });

  it('pages and searches 100,000 rows on the server', async () => {
    await scheduler.close(); // scheduling 100k new rows is the scheduler's test, not this one
    const every = await db.dataSource.getRepository(IntervalScheduleEntity).save({ every: 5, period: 'minutes' as const });
    await db.dataSource.query(
      `INSERT INTO ${TABLES.periodicTask} (name, task, interval_id, args, kwargs, headers, description) ` +
        `SELECT 'bulk-' || n, 'reports.t' || (n % 100), ${every.id}, '[]', '{}', '{}', '' ` +
        'FROM (WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 100000) SELECT n FROM s)',
    );
    await page.getByTestId('search').fill('');
    await eventually(async () => expect(await page.getByTestId('range').textContent()).toBe('1–50 of 100,000'));
    expect(await page.getByTestId('row').count()).toBe(50);
    await page.getByTestId('search').fill('bulk-99999');
    await eventually(async () => expect(await attributes(page.getByTestId('row'), 'data-name')).toEqual(['bulk-99999']));
    expect(pageProblems).toEqual([]);
  });
});
