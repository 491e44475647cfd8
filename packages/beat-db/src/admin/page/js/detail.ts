/**
 * admin.js, part 4: the detail panel of one row (facts, run history, audit log; refreshed every few
 * seconds while open), the page-level audit log, and start-up.
 */
export const DETAIL_JS = String.raw`
var detailId = null;
var detailTimer = null;

function stateBadge(state) {
  var tone = { SUCCESS: 'ok', SENT: 'info', STARTED: 'info', RETRY: 'warn', SKIPPED_MISSED: 'muted', SKIPPED_RUNNING: 'muted', FAILURE: 'bad', SEND_FAILED: 'bad', REVOKED: 'bad' }[state] || 'muted';
  return el('span', { class: 'badge ' + tone, 'data-testid': 'run-state', text: state });
}

/** A schedule in one line ('crontab 0 3 * * * UTC'); other values as JSON. */
function valueText(value) {
  if (value && typeof value === 'object' && value.kind) {
    if (value.kind === 'crontab') return 'crontab ' + [value.minute, value.hour, value.dayOfMonth, value.monthOfYear, value.dayOfWeek].join(' ') + ' ' + value.timezone;
    if (value.kind === 'interval') return 'every ' + value.every + ' ' + value.period;
    if (value.kind === 'solar') return value.event + ' at ' + value.latitude + ', ' + value.longitude;
    if (value.kind === 'clocked') return 'once at ' + value.clockedTime;
  }
  return stringify(value);
}

/** 'field: old → new'; only the new value when there was none (create), only the old one when it went (delete). */
function changesNode(changes) {
  var keys = Object.keys(changes || {});
  if (!keys.length) return el('span', { class: 'muted', text: '—' });
  return el('ul', { class: 'changes' }, keys.map(function (key) {
    var pair = changes[key] || [];
    var before = pair[0] === null || pair[0] === undefined ? null : el('del', { text: valueText(pair[0]) });
    var after = pair[1] === null || pair[1] === undefined ? null : el('ins', { text: valueText(pair[1]) });
    return el('li', {}, [el('span', { class: 'mono', text: key }), ': ', before, before && after ? ' → ' : null, after || (before ? null : el('span', { class: 'muted', text: 'null' }))]);
  }));
}

function auditRow(entry, withName) {
  return el('tr', { 'data-testid': 'audit-entry', dataset: { action: entry.action } }, [
    el('td', {}, [timeNode(entry.at)]),
    el('td', { text: entry.actor }),
    el('td', {}, [el('span', { class: 'badge action-' + entry.action, text: entry.action })]),
    withName ? el('td', { text: entry.name }) : null,
    el('td', {}, [changesNode(entry.changes)]),
  ]);
}

function emptyRow(body, columns, text) {
  body.appendChild(el('tr', {}, [el('td', { colspan: columns, class: 'muted', text: text })]));
}

function fact(list, term, value) {
  list.appendChild(el('dt', { text: term }));
  list.appendChild(el('dd', {}, [value]));
}

function renderDetail(task, runs, audit, preview) {
  $('#detail-title').textContent = task.name;
  var facts = clear($('#detail-facts'));
  fact(facts, 'Task', el('span', { class: 'mono', text: task.task }));
  fact(facts, 'Schedule', el('span', { text: task.scheduleText }));
  fact(facts, 'Enabled', el('span', { 'data-testid': 'detail-enabled', text: task.enabled ? 'yes' : 'no' }));
  fact(facts, 'Next run', task.enabled ? timeNode(task.nextRunAt, 'pending') : el('span', { class: 'muted', text: 'disabled' }));
  var later = preview.nextRuns.filter(function (iso) { return iso !== task.nextRunAt; }).slice(0, 3);
  if (task.enabled && later.length) {
    fact(facts, 'Then', el('span', { class: 'small' }, later.map(function (iso, i) { return el('span', {}, [i ? ', ' : '', timeNode(iso)]); })));
  }
  fact(facts, 'Last run', timeNode(task.lastRunAt, 'never'));
  fact(facts, 'Runs', el('span', { text: String(task.totalRunCount) }));
  if (task.description) fact(facts, 'Description', el('span', { text: task.description }));
  fact(facts, 'Routing', el('span', { class: 'mono', text: [task.queue && 'queue ' + task.queue, task.exchange && 'exchange ' + task.exchange, task.routingKey && 'key ' + task.routingKey, task.priority !== null && 'priority ' + task.priority].filter(Boolean).join(', ') || 'default' }));
  fact(facts, 'Source', el('span', { text: task.source + ', version ' + task.version + ', changed ' + formatTime(task.dateChanged) }));

  var runBody = clear($('#runs'));
  runs.items.forEach(function (run) {
    runBody.appendChild(el('tr', { 'data-testid': 'history-run', dataset: { state: run.state, manual: run.manual } }, [
      el('td', {}, [timeNode(run.scheduledFor), run.manual ? el('span', { class: 'badge info', text: 'manual' }) : null]),
      el('td', {}, [timeNode(run.dispatchedAt)]),
      el('td', {}, [stateBadge(run.state)]),
      el('td', { class: 'mono small', 'data-testid': 'run-task-id', 'data-task-id': run.taskId || '', title: run.taskId || '', text: run.taskId ? run.taskId.slice(0, 8) + '…' : '' }),
      el('td', {}, [timeNode(run.finishedAt, '')]),
      el('td', { class: 'small', text: run.detail || '' }),
    ]));
  });
  if (!runs.items.length) emptyRow(runBody, 6, 'No runs yet.');

  var auditBody = clear($('#row-audit'));
  audit.items.forEach(function (entry) { auditBody.appendChild(auditRow(entry, false)); });
  if (!audit.items.length) emptyRow(auditBody, 4, 'No changes recorded.');
}

function loadDetail() {
  var id = detailId;
  if (id === null) return Promise.resolve();
  var base = '/periodic-tasks/' + id;
  var preview = api('GET', base + '/preview?count=4').catch(function () { return { nextRuns: [] }; });
  return Promise.all([api('GET', base), api('GET', base + '/runs?limit=50'), api('GET', base + '/audit?limit=50'), preview])
    .then(function (results) { if (detailId === id) renderDetail(results[0], results[1], results[2], results[3]); })
    .catch(function (error) { if (error.status === 404) closeDetail(); showError(error); });
}

/** Marks the body while a drawer is open, so the table makes room for it. */
function syncDrawers() {
  document.body.classList.toggle('drawer-open', !$('#detail').hidden || !$('#audit-page').hidden);
}

function openDetail(id) {
  detailId = id;
  $('#audit-page').hidden = true;
  $('#detail').hidden = false;
  syncDrawers();
  $all('#tasks tbody tr').forEach(function (tr) { tr.classList.toggle('current', Number(tr.dataset.id) === id); });
  clearInterval(detailTimer);
  detailTimer = setInterval(function () { if (!document.hidden) loadDetail(); }, 3000);
  return loadDetail();
}

function closeDetail() {
  detailId = null;
  clearInterval(detailTimer);
  $('#detail').hidden = true;
  syncDrawers();
  $all('#tasks tbody tr.current').forEach(function (tr) { tr.classList.remove('current'); });
}

function loadAudit() {
  return api('GET', '/audit?limit=100').then(function (result) {
    var body = clear($('#audit-rows'));
    result.items.forEach(function (entry) { body.appendChild(auditRow(entry, true)); });
    if (!result.items.length) emptyRow(body, 5, 'No changes recorded.');
  }).catch(showError);
}

function init() {
  initTable();
  initForm();
  $('#detail-close').addEventListener('click', closeDetail);
  $('#detail-refresh').addEventListener('click', function () { loadDetail(); });
  $('#show-audit').addEventListener('click', function () {
    var panel = $('#audit-page');
    panel.hidden = !panel.hidden;
    if (!panel.hidden) { closeDetail(); loadAudit(); }
    syncDrawers();
  });
  $('#audit-refresh').addEventListener('click', loadAudit);
  var closeAudit = function () { $('#audit-page').hidden = true; syncDrawers(); };
  $('#audit-close').addEventListener('click', closeAudit);
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape' && !$('#editor').open) { closeDetail(); closeAudit(); } });
  document.body.dataset.ready = 'true';
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
`;
