// Prints the README's configuration table from the settings table (packages/core/src/app/settings.ts).
// Usage: npm run build && node scripts/settings-table.mjs
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { SETTINGS } = require('../packages/core/dist/index.js');

const show = (v) => (v === undefined ? '—' : typeof v === 'string' ? `\`${v}\`` : `\`${JSON.stringify(v)}\``);
const rows = Object.entries(SETTINGS).map(([name, s]) => {
  const def = name === 'workerConcurrency' ? 'CPU count' : show(s.default);
  return `| \`${name}\` | \`CELERIAC_${s.celeryName.toUpperCase()}\` | \`${s.celeryName}\` | ${def} | ${s.doc} |`;
});
console.log(['| setting | env var | Celery name | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n'));
