/** Loads task modules by path or glob, so their app.task()/sharedTask() calls register. */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { glob } from 'tinyglobby';
import { ConfigError } from '../errors';

export interface AutodiscoverOptions {
  /** Base directory of relative patterns. @defaultValue process.cwd() */
  cwd?: string;
}

/** Imports every file matching the patterns; returns the absolute paths loaded, sorted. */
export async function autodiscover(patterns: readonly string[], options: AutodiscoverOptions = {}): Promise<string[]> {
  const cwd = options.cwd ?? process.cwd();
  const files = await glob([...patterns], { cwd, absolute: true, ignore: ['**/node_modules/**', '**/*.d.ts'] });
  if (!files.length) {
    throw new ConfigError('imports', `No task modules matched ${patterns.map((p) => `"${p}"`).join(', ')} under ${cwd}.`);
  }
  files.sort();
  for (const file of files) {
    const abs = isAbsolute(file) ? file : resolve(cwd, file);
    // require() keeps CommonJS modules in one registry with the app; fall back to import() for ESM.
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(abs);
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_REQUIRE_ESM') await import(pathToFileURL(abs).href);
      else throw err;
    }
  }
  return files;
}
