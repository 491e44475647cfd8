/**
 * The admin page's HTML shell, rendered on the server: the toolbar, the table's head, the editor form
 * and the detail panels. `admin.js` fills in the data; every value written here goes through `escapeHtml`.
 * No inline script or style, so the page runs under `Content-Security-Policy: default-src 'self'`:
 * the CSRF token and base path travel in `<meta>` tags.
 */
import { SOLAR_EVENTS } from '@celeriac/core';
import { INTERVAL_PERIODS } from '../../entities/interval-schedule.entity';

export interface AdminPageOptions {
  /** Where the admin is mounted, e.g. '/admin/periodic-tasks' (no trailing slash). */
  basePath: string;
  /** Token the page sends in `x-csrf-token` on every state-changing request. */
  csrfToken: string;
  /** Who is signed in, shown in the header. */
  actor: string;
  /** @defaultValue 'Periodic tasks' */
  title?: string;
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe in HTML content and in quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** Where a field's error message goes: `name` is the field path the API's validation errors use. */
function errorSlot(name: string, extraClass = ''): string {
  return `<small class="error${extraClass}" data-error-for="${escapeHtml(name)}" data-testid="error-${escapeHtml(name)}" hidden></small>`;
}

/** One labelled form field, its error message below it unless `inlineError` is false (then see errorSlot). */
function field(name: string, label: string, control: string, hint = '', inlineError = true): string {
  const id = `f-${name.replace(/\./g, '-')}`;
  return (
    `<div class="field" data-field="${escapeHtml(name)}"><label for="${id}">${escapeHtml(label)}</label>${control.replace('{id}', id)}` +
    (hint ? `<small class="hint">${escapeHtml(hint)}</small>` : '') +
    (inlineError ? errorSlot(name) : '') +
    `</div>`
  );
}

function input(name: string, attrs = 'type="text"'): string {
  return `<input id="{id}" name="${escapeHtml(name)}" ${attrs}>`;
}

function check(name: string, label: string): string {
  return `<label class="check"><input type="checkbox" name="${escapeHtml(name)}" id="f-${escapeHtml(name)}"> ${escapeHtml(label)}</label>`;
}

function options(values: readonly string[]): string {
  return values.map((v) => `<option value="${escapeHtml(v)}">${escapeHtml(v.replace(/_/g, ' '))}</option>`).join('');
}

const CRON_FIELDS: readonly [string, string, string][] = [
  ['minute', 'Minute', '0-59'],
  ['hour', 'Hour', '0-23'],
  ['dayOfMonth', 'Day (month)', '1-31'],
  ['monthOfYear', 'Month', '1-12'],
  ['dayOfWeek', 'Day (week)', '0-6, sun-sat'],
];

function scheduleFields(): string {
  const kinds = ['interval', 'crontab', 'solar', 'clocked']
    .map((k) => `<label class="check"><input type="radio" name="schedule.kind" value="${k}" data-testid="kind-${k}"> ${escapeHtml(k)}</label>`)
    .join('');
  // The five cron fields are narrow: their messages go on full-width lines below them.
  const cron =
    CRON_FIELDS.map(([name, label, hint]) => field(`schedule.${name}`, label, input(`schedule.${name}`, `type="text" placeholder="*" title="${escapeHtml(hint)}" class="mono"`), '', false)).join('') +
    CRON_FIELDS.map(([name]) => errorSlot(`schedule.${name}`, ' wide')).join('');
  return (
    `<fieldset class="schedule"><legend>Schedule</legend><div class="kinds" role="radiogroup" aria-label="Schedule kind">${kinds}</div>` +
    `<div class="kind-fields" data-kind="interval">` +
    field('schedule.every', 'Every', input('schedule.every', 'type="number" min="1" step="1"')) +
    field('schedule.period', 'Period', `<select id="{id}" name="schedule.period">${options(INTERVAL_PERIODS)}</select>`) +
    `</div><div class="kind-fields" data-kind="crontab">${cron}` +
    field('schedule.timezone', 'Time zone', input('schedule.timezone', 'type="text" list="timezones" autocomplete="off"')) +
    `</div><div class="kind-fields" data-kind="solar">` +
    field('schedule.event', 'Event', `<select id="{id}" name="schedule.event">${options(SOLAR_EVENTS)}</select>`) +
    field('schedule.latitude', 'Latitude', input('schedule.latitude', 'type="number" min="-90" max="90" step="any"')) +
    field('schedule.longitude', 'Longitude', input('schedule.longitude', 'type="number" min="-180" max="180" step="any"')) +
    `</div><div class="kind-fields" data-kind="clocked">` +
    field('schedule.clockedTime', 'At (local time)', input('schedule.clockedTime', 'type="datetime-local" step="1"')) +
    `</div>${errorSlot('schedule')}` +
    `<div class="preview" id="preview" data-testid="preview" aria-live="polite"><p class="muted">Pick a schedule to preview its next runs.</p></div></fieldset>`
  );
}

function editorForm(): string {
  const json = (name: string, placeholder: string) => `<textarea id="{id}" name="${escapeHtml(name)}" rows="3" class="mono" placeholder="${escapeHtml(placeholder)}" spellcheck="false"></textarea>`;
  return (
    `<dialog id="editor" data-testid="editor" aria-labelledby="editor-title"><form id="task-form" method="dialog" novalidate>` +
    `<header class="dialog-head"><h2 id="editor-title">New periodic task</h2><button type="button" class="icon" data-close aria-label="Close">×</button></header>` +
    `<p class="error form-error" id="form-error" data-testid="form-error" role="alert" hidden></p><div class="form-grid"><div>` +
    field('name', 'Name', input('name', 'type="text" required maxlength="200" autocomplete="off"')) +
    field('task', 'Task', input('task', 'type="text" required maxlength="200" list="task-options" autocomplete="off" class="mono"'), 'Type to search registered tasks.') +
    field('description', 'Description', input('description', 'type="text"')) +
    scheduleFields() +
    `</div><div>` +
    field('args', 'Args (JSON array)', json('args', '[]')) +
    field('kwargs', 'Kwargs (JSON object)', json('kwargs', '{}')) +
    field('headers', 'Headers (JSON object)', json('headers', '{}')) +
    `<div class="row3">` +
    field('queue', 'Queue', input('queue')) +
    field('exchange', 'Exchange', input('exchange')) +
    field('routingKey', 'Routing key', input('routingKey')) +
    `</div><div class="row3">` +
    field('priority', 'Priority', input('priority', 'type="number" min="0" max="255" step="1"')) +
    field('expireSeconds', 'Expire seconds', input('expireSeconds', 'type="number" min="1" step="1"')) +
    `</div><div class="row3">` +
    field('startTime', 'Start time', input('startTime', 'type="datetime-local" step="1"')) +
    field('expires', 'Expires', input('expires', 'type="datetime-local" step="1"')) +
    `</div><div class="checks">${check('enabled', 'Enabled')}${check('oneOff', 'One-off')}${check('skipIfRunning', 'Skip if running')}</div>` +
    `</div></div><footer class="dialog-foot"><button type="button" data-close>Cancel</button>` +
    `<button type="submit" class="primary" data-testid="save">Save</button></footer></form></dialog>`
  );
}

function toolbar(): string {
  return (
    `<div class="toolbar" role="search">` +
    `<input type="search" id="search" data-testid="search" placeholder="Search name, task, description…" aria-label="Search" autocomplete="off">` +
    `<select id="filter-enabled" data-testid="filter-enabled" aria-label="Enabled filter"><option value="">All</option><option value="true">Enabled</option><option value="false">Disabled</option></select>` +
    `<input type="text" id="filter-task" data-testid="filter-task" placeholder="Task" aria-label="Task filter" list="task-options" autocomplete="off">` +
    `<input type="text" id="filter-queue" data-testid="filter-queue" placeholder="Queue" aria-label="Queue filter" autocomplete="off">` +
    `<button type="button" id="refresh" data-testid="refresh" title="Reload the table">Refresh</button>` +
    `<span class="spacer"></span>` +
    `<span class="bulk" id="bulk" data-testid="bulk" hidden><span id="bulk-count"></span>` +
    `<button type="button" data-bulk="enable">Enable</button><button type="button" data-bulk="disable">Disable</button>` +
    `<button type="button" data-bulk="delete" class="danger">Delete</button></span></div>`
  );
}

const COLUMNS: readonly [label: string, sort: string][] = [
  ['Name', 'name'],
  ['Task', 'task'],
  ['Schedule', ''],
  ['Enabled', ''],
  ['Next run', 'nextRunAt'],
  ['Last run', 'lastRunAt'],
  ['Runs', ''],
];

function table(): string {
  const heads = COLUMNS.map(([label, sort]) =>
    sort ? `<th data-sort="${sort}" aria-sort="none"><button type="button" class="sort">${escapeHtml(label)}</button></th>` : `<th>${escapeHtml(label)}</th>`,
  ).join('');
  return (
    `<div class="table-wrap"><table id="tasks" data-testid="tasks"><thead><tr>` +
    `<th class="sel"><input type="checkbox" id="select-all" aria-label="Select all on this page"></th>${heads}<th class="actions">Actions</th>` +
    `</tr></thead><tbody></tbody></table><p class="empty muted" id="empty" hidden>No periodic tasks match.</p></div>` +
    `<nav class="pager" aria-label="Pages"><span id="range" data-testid="range"></span><span class="spacer"></span>` +
    `<label>Per page <select id="page-size"><option>25</option><option selected>50</option><option>100</option><option>200</option></select></label>` +
    `<button type="button" data-page="first" aria-label="First page">«</button><button type="button" data-page="prev" aria-label="Previous page">‹</button>` +
    `<span id="page-info"></span>` +
    `<button type="button" data-page="next" aria-label="Next page">›</button><button type="button" data-page="last" aria-label="Last page">»</button></nav>`
  );
}

function panels(): string {
  return (
    `<aside id="detail" class="panel drawer" data-testid="detail" hidden aria-labelledby="detail-title">` +
    `<header class="panel-head"><h2 id="detail-title"></h2><button type="button" id="detail-refresh">Refresh</button>` +
    `<button type="button" class="icon" id="detail-close" aria-label="Close">×</button></header>` +
    `<dl id="detail-facts" class="facts"></dl>` +
    `<h3>Run history</h3><div class="table-wrap"><table class="sub" data-testid="runs"><thead><tr><th>Scheduled for</th><th>Sent</th><th>State</th><th>Task id</th><th>Finished</th><th>Detail</th></tr></thead><tbody id="runs"></tbody></table></div>` +
    `<h3>Audit log</h3><div class="table-wrap"><table class="sub" data-testid="row-audit"><thead><tr><th>At</th><th>Who</th><th>Action</th><th>Changes</th></tr></thead><tbody id="row-audit"></tbody></table></div>` +
    `</aside>` +
    `<aside id="audit-page" class="panel drawer" data-testid="audit-page" hidden aria-labelledby="audit-title">` +
    `<header class="panel-head"><h2 id="audit-title">Audit log</h2><button type="button" id="audit-refresh">Refresh</button>` +
    `<button type="button" class="icon" id="audit-close" aria-label="Close">×</button></header>` +
    `<div class="table-wrap"><table class="sub"><thead><tr><th>At</th><th>Who</th><th>Action</th><th>Task</th><th>Changes</th></tr></thead><tbody id="audit-rows"></tbody></table></div></aside>`
  );
}

/** The page's HTML (every interpolated value escaped). */
export function renderAdminPage(options: AdminPageOptions): string {
  const base = options.basePath.replace(/\/+$/, '');
  const title = options.title ?? 'Periodic tasks';
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="csrf-token" content="${escapeHtml(options.csrfToken)}"><meta name="celeriac-base-path" content="${escapeHtml(base)}">` +
    `<title>${escapeHtml(title)}</title><link rel="stylesheet" href="${escapeHtml(base)}/assets/admin.css">` +
    `<script src="${escapeHtml(base)}/assets/admin.js" defer></script></head><body>` +
    `<header class="top"><h1>${escapeHtml(title)}</h1><span class="spacer"></span><span class="actor" data-testid="actor">${escapeHtml(options.actor)}</span>` +
    `<button type="button" id="show-audit" data-testid="show-audit">Audit log</button>` +
    `<button type="button" id="new-task" class="primary" data-testid="new-task">New periodic task</button></header>` +
    `<main><div id="flash" class="flash" data-testid="flash" role="status" aria-live="polite" hidden></div>` +
    toolbar() +
    table() +
    panels() +
    `</main>${editorForm()}<datalist id="task-options"></datalist><datalist id="timezones"></datalist>` +
    `<noscript><p class="error">This page needs JavaScript.</p></noscript></body></html>`
  );
}
