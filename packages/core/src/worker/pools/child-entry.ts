/** Where pool-child.js is: next to this file once compiled. Jest runs the .ts sources, which a thread or fork cannot load. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../errors';

export function childEntry(kind: 'threads' | 'processes'): string {
  const file = join(__dirname, 'pool-child.js');
  if (!existsSync(file)) {
    throw new ConfigError('pool', `pool '${kind}' needs the compiled ${file} (build @celeriac/core; its TypeScript sources cannot run in a thread or child process).`);
  }
  return file;
}
