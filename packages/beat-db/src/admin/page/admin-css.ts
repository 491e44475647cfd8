/** admin.css: the page's only stylesheet (system fonts, light and dark, no framework). */
export const ADMIN_CSS = String.raw`
:root {
  --bg: #f6f7f9; --surface: #fff; --text: #1d2330; --muted: #6b7385; --line: #dfe3ea; --accent: #2f6fdb;
  --accent-text: #fff; --danger: #c62f3b; --ok: #1d8a4e; --warn: #b7791f; --hover: #f0f4fb; --current: #e6eefc;
  --top-height: 56px; --drawer-width: 100vw;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #14171d; --surface: #1c2028; --text: #e4e7ee; --muted: #98a0b3; --line: #2d333f; --accent: #5b8ff0;
    --danger: #ef6b75; --ok: #4cc483; --warn: #e0a84a; --hover: #232937; --current: #26324a; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--text); }
h1 { font-size: 18px; margin: 0; }
h2 { font-size: 16px; margin: 0; }
h3 { font-size: 13px; margin: 18px 0 6px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.mono, textarea, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.muted { color: var(--muted); }
.strong { font-weight: 600; }
.small { font-size: 12px; }
.spacer { flex: 1; }
[hidden] { display: none !important; }

.top { display: flex; align-items: center; gap: 10px; padding: 0 20px; height: var(--top-height); background: var(--surface); border-bottom: 1px solid var(--line);
  position: sticky; top: 0; z-index: 6; }
.actor { color: var(--muted); }
main { padding: 16px 20px 40px; }

button, input, select, textarea { font: inherit; color: inherit; }
button { border: 1px solid var(--line); background: var(--surface); border-radius: 6px; padding: 5px 11px; cursor: pointer; }
button:hover:not(:disabled) { background: var(--hover); }
button:disabled { opacity: .45; cursor: default; }
button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-text); }
button.primary:hover:not(:disabled) { filter: brightness(1.08); background: var(--accent); }
button.danger, .link.danger { color: var(--danger); }
button.link { border: 0; background: none; padding: 2px 4px; color: var(--accent); }
button.link:hover { text-decoration: underline; background: none; }
button.link.strong { padding: 0; color: var(--text); text-align: left; }
button.icon { border: 0; font-size: 20px; line-height: 1; padding: 2px 8px; background: none; }
input[type="text"], input[type="search"], input[type="number"], input[type="datetime-local"], select, textarea {
  border: 1px solid var(--line); background: var(--surface); border-radius: 6px; padding: 5px 8px; min-width: 0;
}
input:focus-visible, select:focus-visible, textarea:focus-visible, button:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
[aria-invalid="true"] { border-color: var(--danger) !important; }

.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin-bottom: 10px; min-height: 38px; }
.toolbar #search { width: 320px; }
.toolbar #filter-task, .toolbar #filter-queue { width: 170px; }
.bulk { display: flex; align-items: center; gap: 6px; padding: 3px 8px; background: var(--current); border-radius: 8px; }

.flash { padding: 8px 12px; border-radius: 6px; margin-bottom: 10px; border: 1px solid var(--line); background: var(--surface); }
.flash.error { border-color: var(--danger); color: var(--danger); }
.flash.info { border-color: var(--ok); }

.table-wrap { overflow-x: auto; background: var(--surface); border: 1px solid var(--line); border-radius: 8px; }
table { width: 100%; border-collapse: collapse; }
th, td { padding: 7px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { font-size: 12px; font-weight: 600; color: var(--muted); white-space: nowrap; background: var(--surface); }
tbody tr:last-child td { border-bottom: 0; }
tbody tr:hover { background: var(--hover); }
tbody tr.current { background: var(--current); }
tr.disabled td.name button, tr.disabled td:nth-child(3), tr.disabled td:nth-child(4) { color: var(--muted); }
th .sort { border: 0; background: none; padding: 0; font-weight: 600; color: inherit; }
th[aria-sort="ascending"] .sort::after { content: " ▲"; }
th[aria-sort="descending"] .sort::after { content: " ▼"; }
th[aria-sort="none"] .sort::after { content: " ↕"; opacity: .35; }
td.sel, th.sel { width: 28px; }
td.center { text-align: center; }
input[role="switch"] { appearance: none; width: 32px; height: 18px; border-radius: 9px; background: var(--line); position: relative;
  cursor: pointer; margin: 2px 0 0; transition: background .15s; vertical-align: middle; }
input[role="switch"]::after { content: ""; position: absolute; top: 2px; left: 2px; width: 14px; height: 14px; border-radius: 50%;
  background: #fff; box-shadow: 0 1px 2px rgba(0, 0, 0, .3); transition: left .15s; }
input[role="switch"]:checked { background: var(--ok); }
input[role="switch"]:checked::after { left: 16px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.actions, th.actions { white-space: nowrap; text-align: right; }
td time { white-space: nowrap; font-variant-numeric: tabular-nums; }
.desc { font-size: 12px; max-width: 340px; overflow-wrap: anywhere; display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }
td.name { min-width: 160px; }
.empty { padding: 16px; margin: 0; }
.pager { display: flex; align-items: center; gap: 6px; margin-top: 8px; color: var(--muted); }

.badge { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 11.5px; font-weight: 600; border: 1px solid currentColor; margin-left: 4px; }
.badge.ok { color: var(--ok); } .badge.info { color: var(--accent); } .badge.warn { color: var(--warn); }
.badge.bad { color: var(--danger); } .badge.muted { color: var(--muted); }
.changes { margin: 0; padding-left: 16px; }
.changes del { color: var(--danger); } .changes ins { color: var(--ok); text-decoration: none; }
.changes del, .changes ins { overflow-wrap: anywhere; }

.panel { background: var(--surface); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
.drawer { position: fixed; top: var(--top-height); right: 0; bottom: 0; width: var(--drawer-width); overflow-y: auto; z-index: 5;
  border-radius: 0; border-width: 0 0 0 1px; box-shadow: -8px 0 24px rgba(0, 0, 0, .12); }
/* Wide screens: the drawer sits beside the table instead of over it. */
@media (min-width: 1100px) {
  :root { --drawer-width: min(560px, 42vw); }
  body.drawer-open main { margin-right: var(--drawer-width); }
}
.drawer .panel-head { position: sticky; top: -14px; background: var(--surface); padding: 4px 0 8px; margin-top: -4px; }
.panel-head { display: flex; align-items: center; gap: 8px; }
.panel-head h2 { flex: 1; overflow-wrap: anywhere; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 12px 0 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
table.sub th, table.sub td { padding: 5px 8px; font-size: 12.5px; }

dialog { border: 1px solid var(--line); border-radius: 10px; padding: 0; width: min(980px, 96vw); background: var(--surface); color: var(--text); }
dialog::backdrop { background: rgba(10, 14, 22, .45); }
.dialog-head, .dialog-foot { display: flex; align-items: center; gap: 8px; padding: 12px 18px; }
.dialog-head { border-bottom: 1px solid var(--line); }
.dialog-head h2 { flex: 1; }
.dialog-foot { border-top: 1px solid var(--line); justify-content: flex-end; }
.form-grid { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 8px 24px; padding: 12px 18px; max-height: 72vh; overflow-y: auto; }
@media (max-width: 760px) {
  .form-grid { grid-template-columns: minmax(0, 1fr); }
  .top { padding: 0 12px; gap: 6px; }
  .top h1 { font-size: 16px; }
  .top .actor { display: none; }
  main { padding: 12px 12px 32px; }
}
.top h1, .top button { white-space: nowrap; }
.form-error { margin: 10px 18px 0; }
.field { display: flex; flex-direction: column; gap: 3px; margin-bottom: 10px; }
.field input:not([type="checkbox"]):not([type="radio"]), .field select, .field textarea { width: 100%; }
.field label { font-size: 12px; font-weight: 600; color: var(--muted); }
.field .hint { color: var(--muted); font-size: 11.5px; }
.error { color: var(--danger); font-size: 12px; }
.field.invalid label { color: var(--danger); }
.row3 { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 0 10px; }
.checks { display: flex; gap: 16px; flex-wrap: wrap; margin-top: 4px; }
.check { display: inline-flex; align-items: center; gap: 5px; cursor: pointer; }
fieldset.schedule { border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px 10px; margin: 0 0 10px; min-width: 0; }
fieldset.schedule legend { font-size: 12px; font-weight: 600; color: var(--muted); padding: 0 4px; }
.kinds { display: flex; gap: 14px; margin-bottom: 8px; }
.kind-fields { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 0 10px; }
.kind-fields[data-kind="crontab"] { grid-template-columns: repeat(5, minmax(0, 1fr)); }
.kind-fields[data-kind="crontab"] [data-field="schedule.timezone"], .kind-fields .error.wide { grid-column: 1 / -1; }
.kind-fields .error.wide { margin: -4px 0 8px; }
.preview { border-top: 1px dashed var(--line); padding-top: 8px; font-size: 12.5px; overflow-wrap: anywhere; }
.preview p { margin: 0 0 4px; }
.runs-preview { margin: 0; padding-left: 20px; }
.preview[aria-busy="true"] { opacity: .5; }
`;
