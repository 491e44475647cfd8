/**
 * admin.js, part 2: the table. Search, filters, sorting and paging all run on the server (one page of
 * rows in the browser, however large the table); the state is mirrored in the URL so a reload keeps it.
 */
export const TABLE_JS = String.raw`
var state = { search: '', enabled: '', task: '', queue: '', sort: 'name', page: 1, pageSize: 50, total: 0, items: [], selected: {} };
var listSeq = 0;

function readUrlState() {
  var params = new URLSearchParams(location.search);
  ['search', 'enabled', 'task', 'queue', 'sort'].forEach(function (key) { if (params.get(key)) state[key] = params.get(key); });
  state.page = Math.max(1, parseInt(params.get('page') || '1', 10) || 1);
  state.pageSize = parseInt(params.get('pageSize') || '50', 10) || 50;
  $('#search').value = state.search;
  $('#filter-enabled').value = state.enabled;
  $('#filter-task').value = state.task;
  $('#filter-queue').value = state.queue;
  $('#page-size').value = String(state.pageSize);
}

function listParams() {
  return { search: state.search, enabled: state.enabled, task: state.task, queue: state.queue, sort: state.sort, page: state.page, pageSize: state.pageSize };
}

/** Fetches the current page; a slower, older response never overwrites a newer one. */
function loadList() {
  var seq = ++listSeq;
  var params = listParams();
  history.replaceState(null, '', location.pathname + query(Object.assign({}, params, { page: params.page > 1 ? params.page : '', pageSize: params.pageSize !== 50 ? params.pageSize : '', sort: params.sort !== 'name' ? params.sort : '' })));
  $('#tasks').setAttribute('aria-busy', 'true');
  return api('GET', '/periodic-tasks' + query(params)).then(function (result) {
    if (seq !== listSeq) return;
    state.items = result.items;
    state.total = result.total;
    var lastPage = Math.max(1, Math.ceil(result.total / state.pageSize));
    if (state.page > lastPage && result.total > 0) { state.page = lastPage; return loadList(); }
    renderRows();
  }).catch(showError).then(function () {
    if (seq === listSeq) $('#tasks').removeAttribute('aria-busy');
  });
}

function actionButton(label, action, task, extra) {
  return el('button', Object.assign({ type: 'button', class: 'link', 'data-testid': action, 'aria-label': label + ' ' + task.name, text: label, onclick: function () { rowAction(action, task); } }, extra || {}));
}

function renderRow(task) {
  var toggle = el('input', { type: 'checkbox', role: 'switch', 'data-testid': 'toggle-enabled', 'aria-label': 'Enabled: ' + task.name, checked: task.enabled,
    onchange: function () { rowAction(task.enabled ? 'disable' : 'enable', task); } });
  var select = el('input', { type: 'checkbox', class: 'select', 'aria-label': 'Select ' + task.name, checked: !!state.selected[task.id],
    onchange: function (event) { setSelected(task.id, event.target.checked); } });
  return el('tr', { dataset: { id: task.id, name: task.name }, 'data-testid': 'row', class: (task.enabled ? '' : 'disabled ') + (detailId === task.id ? 'current' : '') }, [
    el('td', { class: 'sel' }, [select]),
    el('td', { class: 'name' }, [
      el('button', { type: 'button', class: 'link strong', 'data-testid': 'details', text: task.name, title: 'Show runs and audit log', onclick: function () { openDetail(task.id); } }),
      task.description ? el('div', { class: 'desc muted', 'data-testid': 'description', title: task.description, text: task.description }) : null,
    ]),
    el('td', { class: 'mono', 'data-testid': 'task', text: task.task }),
    el('td', { 'data-testid': 'schedule', text: task.scheduleText, title: JSON.stringify(task.schedule) }),
    el('td', { class: 'center' }, [toggle]),
    el('td', { 'data-testid': 'next-run' }, [task.enabled ? timeNode(task.nextRunAt, 'pending') : el('span', { class: 'muted', text: 'disabled' })]),
    el('td', { 'data-testid': 'last-run' }, [timeNode(task.lastRunAt, 'never')]),
    el('td', { class: 'num', 'data-testid': 'run-count', text: task.totalRunCount }),
    el('td', { class: 'actions' }, [
      actionButton('Edit', 'edit', task),
      actionButton('Run now', 'run', task),
      actionButton('Delete', 'delete', task, { class: 'link danger' }),
    ]),
  ]);
}

function renderRows() {
  var body = clear($('#tasks tbody'));
  state.items.forEach(function (task) { body.appendChild(renderRow(task)); });
  $('#empty').hidden = state.items.length > 0;
  var first = state.total === 0 ? 0 : (state.page - 1) * state.pageSize + 1;
  var last = Math.min(state.total, state.page * state.pageSize);
  var lastPage = Math.max(1, Math.ceil(state.total / state.pageSize));
  $('#range').textContent = first + '–' + last + ' of ' + state.total.toLocaleString();
  $('#page-info').textContent = 'Page ' + state.page + ' of ' + lastPage;
  $all('[data-page="first"], [data-page="prev"]').forEach(function (b) { b.disabled = state.page <= 1; });
  $all('[data-page="next"], [data-page="last"]').forEach(function (b) { b.disabled = state.page >= lastPage; });
  $all('#tasks th[data-sort]').forEach(function (th) {
    var key = th.dataset.sort;
    th.setAttribute('aria-sort', state.sort === key ? 'ascending' : state.sort === '-' + key ? 'descending' : 'none');
  });
  renderSelection();
}

function setSelected(id, on) {
  if (on) state.selected[id] = true; else delete state.selected[id];
  renderSelection();
}

function selectedIds() { return Object.keys(state.selected).map(Number); }

function renderSelection() {
  var ids = selectedIds();
  $('#bulk').hidden = ids.length === 0;
  $('#bulk-count').textContent = ids.length + ' selected';
  var onPage = state.items.filter(function (t) { return state.selected[t.id]; }).length;
  var all = $('#select-all');
  all.checked = onPage > 0 && onPage === state.items.length;
  all.indeterminate = onPage > 0 && onPage < state.items.length;
}

/** Edit, enable, disable, run or delete one row. */
function rowAction(action, task) {
  if (action === 'edit') return openEditor(task.id);
  if (action === 'delete' && !confirm('Delete the periodic task "' + task.name + '"? This cannot be undone.')) return;
  var path = '/periodic-tasks/' + task.id + (action === 'delete' ? '' : '/' + action);
  return api(action === 'delete' ? 'DELETE' : 'POST', path).then(function (result) {
    if (action === 'run') flash('Sent "' + task.name + '" now (task id ' + result.taskId + ').');
    else flash('"' + task.name + '" ' + (action === 'delete' ? 'deleted' : action + 'd') + '.');
    if (action === 'delete') { delete state.selected[task.id]; if (detailId === task.id) closeDetail(); }
    else if (action === 'run') openDetail(task.id);
    else if (detailId === task.id) loadDetail();
    return loadList();
  }).catch(function (error) { showError(error); return loadList(); });
}

function bulkAction(action) {
  var ids = selectedIds();
  if (!ids.length) return;
  if (action === 'delete' && !confirm('Delete ' + ids.length + ' periodic task(s)? This cannot be undone.')) return;
  api('POST', '/periodic-tasks/bulk', { ids: ids, action: action }).then(function (result) {
    flash(result.affected + ' periodic task(s) ' + (action === 'delete' ? 'deleted' : action + 'd') + '.');
    if (action === 'delete') state.selected = {};
    return loadList();
  }).catch(showError);
}

function initTable() {
  readUrlState();
  var reload = function () { state.page = 1; loadList(); };
  var typed = debounce(reload, 250);
  $('#search').addEventListener('input', function (e) { state.search = e.target.value.trim(); typed(); });
  $('#filter-task').addEventListener('input', function (e) { state.task = e.target.value.trim(); typed(); suggestTasks(e.target.value); });
  $('#filter-queue').addEventListener('input', function (e) { state.queue = e.target.value.trim(); typed(); });
  $('#filter-enabled').addEventListener('change', function (e) { state.enabled = e.target.value; reload(); });
  $('#page-size').addEventListener('change', function (e) { state.pageSize = parseInt(e.target.value, 10); reload(); });
  $('#refresh').addEventListener('click', function () { loadList(); });
  $all('#tasks th[data-sort] button').forEach(function (button) {
    button.addEventListener('click', function () {
      var key = button.parentNode.dataset.sort;
      state.sort = state.sort === key ? '-' + key : key;
      loadList();
    });
  });
  $all('[data-page]').forEach(function (button) {
    button.addEventListener('click', function () {
      var lastPage = Math.max(1, Math.ceil(state.total / state.pageSize));
      var to = { first: 1, prev: state.page - 1, next: state.page + 1, last: lastPage }[button.dataset.page];
      state.page = Math.min(lastPage, Math.max(1, to));
      loadList();
    });
  });
  $('#select-all').addEventListener('change', function (e) {
    state.items.forEach(function (t) { if (e.target.checked) state.selected[t.id] = true; else delete state.selected[t.id]; });
    renderRows();
  });
  $all('[data-bulk]').forEach(function (button) { button.addEventListener('click', function () { bulkAction(button.dataset.bulk); }); });
  loadList();
  // Keeps next/last run fresh as beat works; skipped while the tab is hidden or the editor is open.
  setInterval(function () { if (!document.hidden && !$('#editor').open) loadList(); }, 15000);
}
`;
