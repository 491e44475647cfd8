/**
 * The admin page: a server-rendered HTML shell plus one script and one stylesheet served from the same
 * router (no CDN, no build step, no inline code: it runs under a strict Content-Security-Policy).
 * The handlers import only `renderAdminPage` and `ADMIN_ASSETS`.
 */
import { ADMIN_CSS } from './admin-css';
import { CORE_JS } from './js/core';
import { DETAIL_JS } from './js/detail';
import { FORM_JS } from './js/form';
import { TABLE_JS } from './js/table';

export { renderAdminPage, escapeHtml, type AdminPageOptions } from './render-page';

/** The script: the parts share one function scope, so nothing leaks into the page's globals. */
const ADMIN_JS = ['(function () {', CORE_JS, TABLE_JS, FORM_JS, DETAIL_JS, '})();', ''].join('\n');

/** Static assets by file name, served at `<basePath>/assets/<name>`. */
export const ADMIN_ASSETS: Readonly<Record<string, { contentType: string; body: string }>> = {
  'admin.js': { contentType: 'text/javascript; charset=utf-8', body: ADMIN_JS },
  'admin.css': { contentType: 'text/css; charset=utf-8', body: ADMIN_CSS },
};
