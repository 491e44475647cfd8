/**
 * The README's first quick-start command runs this sample on embedded defaults (no server): it must
 * print every result. Runs the build output, as `npm run sample` does (`npm test` builds first).
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

it('runs tasks in-process on the memory broker and prints their results', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('CELERIAC_')) delete env[key];
  const { stdout } = await run(process.execPath, [resolve(__dirname, '../dist/main.js')], { env, timeout: 20_000 });
  expect(stdout).toContain('consuming celery on memory://');
  expect(stdout).toContain('sample.add(2, 3) = 5');
  expect(stdout).toContain("sample.greet(name='Celeriac', greeting='Bonjour') = Bonjour, Celeriac!");
  expect(stdout).toContain('sample.add(40, 2) with countdown 0.2s = 42');
  expect(stdout).toContain('sample.flaky = flaky task worked after 2 retries');
  expect(stdout).toContain('sample.divide(1, 0) failed as expected: ValueError: division by zero (state FAILURE)');
  expect(stdout.trim().endsWith('done')).toBe(true);
});
