/** The README's configuration table is generated from the settings table; this keeps them in step. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SETTINGS } from '../../src/app/settings';

const readme = readFileSync(resolve(__dirname, '../../../../README.md'), 'utf8');

describe('README configuration table', () => {
  it.each(Object.entries(SETTINGS))('documents %s with its env var and Celery name', (name, spec) => {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
    expect(row).toBeDefined();
    expect(row).toContain(`\`CELERIAC_${spec.celeryName.toUpperCase()}\``);
    expect(row).toContain(`\`${spec.celeryName}\``);
  });
});
