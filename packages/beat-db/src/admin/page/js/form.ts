/**
 * admin.js, part 3: the create/edit form. Task names come from the server as you type (a datalist of a
 * few matches, never a giant dropdown); the schedule preview asks the server for the next five runs;
 * a 400's `fields` map puts each message next to its field. An edit sends only the fields that changed.
 */
export const FORM_JS = String.raw`
var editing = null; // the PeriodicTaskView being edited, or null for a new one
var JSON_FIELDS = { args: [], kwargs: {}, headers: {} };
var TEXT_FIELDS = ['name', 'task', 'description'];
var NULLABLE_TEXT = ['queue', 'exchange', 'routingKey'];
var NULLABLE_INT = ['priority', 'expireSeconds'];
var TIME_FIELDS = ['startTime', 'expires'];
var FLAGS = ['enabled', 'oneOff', 'skipIfRunning'];
var DEFAULT_SCHEDULES = {
  interval: { kind: 'interval', every: 10, period: 'minutes' },
  crontab: { kind: 'crontab', minute: '0', hour: '*', dayOfMonth: '*', monthOfYear: '*', dayOfWeek: '*', timezone: 'UTC' },
  solar: { kind: 'solar', event: 'sunrise', latitude: 0, longitude: 0 },
  clocked: { kind: 'clocked', clockedTime: new Date(Date.now() + 3600000).toISOString() },
};

function formField(name) { return $('#task-form').elements.namedItem(name); }

function scheduleKind() {
  var checked = $('#task-form input[name="schedule.kind"]:checked');
  return checked ? checked.value : 'crontab';
}

function showKind(kind) {
  $all('#task-form .kind-fields').forEach(function (box) { box.hidden = box.dataset.kind !== kind; });
}

function fillSchedule(schedule) {
  formField('schedule.kind').value = schedule.kind;
  Object.keys(schedule).forEach(function (key) {
    if (key === 'kind') return;
    var input = formField('schedule.' + key);
    if (input) input.value = key === 'clockedTime' ? toLocalInput(schedule[key]) : String(schedule[key]);
  });
  showKind(schedule.kind);
}

function readSchedule() {
  var kind = scheduleKind();
  var v = function (key) { return formField('schedule.' + key).value.trim(); };
  var num = function (key) { var s = v(key); return s === '' ? NaN : Number(s); };
  if (kind === 'interval') return { kind: kind, every: num('every'), period: v('period') };
  if (kind === 'solar') return { kind: kind, event: v('event'), latitude: num('latitude'), longitude: num('longitude') };
  if (kind === 'clocked') return { kind: kind, clockedTime: fromLocalInput(v('clockedTime')) || '' };
  return { kind: kind, minute: v('minute'), hour: v('hour'), dayOfMonth: v('dayOfMonth'), monthOfYear: v('monthOfYear'), dayOfWeek: v('dayOfWeek'), timezone: v('timezone') || 'UTC' };
}

function fillForm(task) {
  var form = $('#task-form');
  form.reset();
  TEXT_FIELDS.concat(NULLABLE_TEXT, NULLABLE_INT).forEach(function (key) { formField(key).value = task[key] === null || task[key] === undefined ? '' : String(task[key]); });
  Object.keys(JSON_FIELDS).forEach(function (key) { formField(key).value = JSON.stringify(task[key] || JSON_FIELDS[key]); });
  TIME_FIELDS.forEach(function (key) { formField(key).value = toLocalInput(task[key]); });
  FLAGS.forEach(function (key) { formField(key).checked = !!task[key]; });
  Object.keys(DEFAULT_SCHEDULES).forEach(function (kind) { fillSchedule(DEFAULT_SCHEDULES[kind]); });
  fillSchedule(task.schedule);
}

/** The form as a PeriodicTaskInput; JSON that does not parse becomes a field error. */
function readForm(errors) {
  var input = {};
  TEXT_FIELDS.forEach(function (key) { input[key] = formField(key).value.trim(); });
  NULLABLE_TEXT.forEach(function (key) { input[key] = formField(key).value.trim() || null; });
  NULLABLE_INT.forEach(function (key) {
    var s = formField(key).value.trim();
    input[key] = s === '' ? null : Number(s);
    if (s !== '' && !Number.isInteger(input[key])) errors[key] = 'Enter a whole number.';
  });
  Object.keys(JSON_FIELDS).forEach(function (key) {
    var s = formField(key).value.trim();
    try { input[key] = s === '' ? JSON_FIELDS[key] : JSON.parse(s); } catch (e) { errors[key] = 'Not valid JSON: ' + e.message; }
  });
  TIME_FIELDS.forEach(function (key) { input[key] = fromLocalInput(formField(key).value); });
  FLAGS.forEach(function (key) { input[key] = formField(key).checked; });
  input.schedule = readSchedule();
  return input;
}

/** Only what differs from the row being edited (so the audit log shows real changes). */
function changedFields(input) {
  var patch = {};
  Object.keys(input).forEach(function (key) {
    if (JSON.stringify(input[key]) !== JSON.stringify(editing[key] === undefined ? null : editing[key])) patch[key] = input[key];
  });
  return patch;
}

function fieldBox(path) { return $('#task-form .field[data-field="' + CSS.escape(path) + '"]'); }

/** Hides the error messages (only those of fields starting with 'prefix', when given). */
function clearErrors(prefix) {
  $all('#task-form [data-error-for^="' + (prefix || '') + '"]').forEach(function (node) {
    node.hidden = true;
    node.textContent = '';
    var box = fieldBox(node.dataset.errorFor);
    if (box) box.classList.remove('invalid');
    var control = formField(node.dataset.errorFor);
    if (control && control.removeAttribute) control.removeAttribute('aria-invalid');
  });
  if (!prefix) $('#form-error').hidden = true;
}

/** Shows each message next to its field: 'schedule.minute', else the nearest parent ('args.0' → 'args'), else on top. */
function showFieldErrors(fields, message, keepFocus) {
  var unplaced = [];
  Object.keys(fields).forEach(function (path) {
    var key = path;
    var node = null;
    while (key && !(node = $('#task-form [data-error-for="' + CSS.escape(key) + '"]'))) key = key.indexOf('.') > 0 ? key.slice(0, key.lastIndexOf('.')) : '';
    if (!node) { unplaced.push(path + ': ' + fields[path]); return; }
    node.textContent = (node.textContent ? node.textContent + ' ' : '') + fields[path];
    node.hidden = false;
    var box = fieldBox(key);
    if (box) box.classList.add('invalid');
    var control = formField(key);
    if (control && control.setAttribute) control.setAttribute('aria-invalid', 'true');
  });
  if (keepFocus) return;
  if (unplaced.length || (message && !Object.keys(fields).length)) {
    $('#form-error').textContent = [message].concat(unplaced).filter(Boolean).join(' ');
    $('#form-error').hidden = false;
  }
  var first = $('#task-form .field.invalid input, #task-form .field.invalid textarea, #task-form .field.invalid select');
  if (first) first.focus();
}

function openEditor(id) {
  clearErrors();
  var open = function (task) {
    editing = id ? task : null;
    fillForm(task);
    $('#editor-title').textContent = id ? 'Edit "' + task.name + '"' : 'New periodic task';
    if (!$('#editor').open) $('#editor').showModal();
    formField('name').focus();
    refreshPreview();
  };
  if (!id) return open({ name: '', task: '', description: '', args: [], kwargs: {}, headers: {}, enabled: true, schedule: DEFAULT_SCHEDULES.crontab });
  return api('GET', '/periodic-tasks/' + id).then(open).catch(showError);
}

function closeEditor() {
  $('#editor').close(); // the dialog's close event forgets the row being edited
}

function submitForm(event) {
  event.preventDefault();
  clearErrors();
  var errors = {};
  var input = readForm(errors);
  if (Object.keys(errors).length) return showFieldErrors(errors);
  var body = editing ? changedFields(input) : input;
  if (editing && !Object.keys(body).length) return closeEditor();
  var save = $('#task-form button[type="submit"]');
  save.disabled = true;
  var request = editing ? api('PATCH', '/periodic-tasks/' + editing.id, body) : api('POST', '/periodic-tasks', body);
  request.then(function (task) {
    var created = !editing;
    closeEditor();
    flash('"' + task.name + '" ' + (created ? 'created' : 'saved') + '.');
    if (detailId === task.id) loadDetail();
    return loadList();
  }).catch(function (error) {
    if (error.status === 409 && !Object.keys(error.fields).length) error.fields = { name: error.message };
    if (error.status === 400 || error.status === 409) showFieldErrors(error.fields, error.message);
    else { $('#form-error').textContent = error.message; $('#form-error').hidden = false; }
  }).then(function () { save.disabled = false; });
}

var previewSeq = 0;
/** Asks the server for the schedule's text and next five runs; the old preview is dimmed meanwhile. */
function refreshPreview() {
  $('#preview').setAttribute('aria-busy', 'true');
  fetchPreview();
}

var fetchPreview = debounce(function () {
  var seq = ++previewSeq;
  var box = $('#preview');
  api('POST', '/schedules/preview', { schedule: readSchedule(), count: 5 }).then(function (preview) {
    if (seq !== previewSeq) return;
    clearErrors('schedule');
    clear(box).appendChild(el('p', { class: 'strong', 'data-testid': 'preview-text', text: preview.description }));
    var list = el('ol', { class: 'runs-preview', 'data-testid': 'preview-runs' });
    preview.nextRuns.forEach(function (iso) { list.appendChild(el('li', {}, [timeNode(iso), el('span', { class: 'muted', text: ' ' + relativeTime(iso) })])); });
    box.appendChild(el('p', { class: 'muted', text: preview.nextRuns.length ? 'Next runs (your local time; schedule time zone ' + preview.timezone + '):' : 'No future runs.' }));
    box.appendChild(list);
  }).catch(function (error) {
    if (seq !== previewSeq) return;
    clearErrors('schedule');
    showFieldErrors(error.fields, '', true);
    clear(box).appendChild(el('p', { class: 'error', 'data-testid': 'preview-error', text: Object.keys(error.fields).length ? 'No preview: fix the schedule above.' : error.message }));
  }).then(function () {
    if (seq === previewSeq) box.removeAttribute('aria-busy');
  });
}, 300);

var suggestSeq = 0;
/** Fills the task-name datalist with the server's matches for what was typed. */
var suggestTasks = debounce(function (text) {
  var seq = ++suggestSeq;
  api('GET', '/tasks' + query({ search: text.trim() })).then(function (result) {
    if (seq !== suggestSeq) return;
    var list = clear($('#task-options'));
    result.items.slice(0, 50).forEach(function (name) { list.appendChild(el('option', { value: name })); });
  }).catch(function () { /* suggestions are a convenience */ });
}, 200);

function fillTimezones() {
  var zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  var list = $('#timezones');
  ['UTC'].concat(zones).forEach(function (zone) { list.appendChild(el('option', { value: zone })); });
}

function initForm() {
  var form = $('#task-form');
  form.addEventListener('submit', submitForm);
  $('#editor').addEventListener('close', function () { editing = null; });
  $all('[data-close]', form).forEach(function (b) { b.addEventListener('click', closeEditor); });
  $all('input[name="schedule.kind"]', form).forEach(function (radio) {
    radio.addEventListener('change', function () { showKind(radio.value); refreshPreview(); });
  });
  $all('.schedule input, .schedule select', form).forEach(function (input) {
    if (input.name !== 'schedule.kind') input.addEventListener('input', refreshPreview);
  });
  formField('task').addEventListener('input', function (e) { suggestTasks(e.target.value); });
  formField('task').addEventListener('focus', function (e) { suggestTasks(e.target.value); });
  $('#new-task').addEventListener('click', function () { openEditor(null); });
  fillTimezones();
}
`;
