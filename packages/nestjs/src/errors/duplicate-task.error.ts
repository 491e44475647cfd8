import { ConfigError } from '@celeriac/core';
import { DUPLICATE_TASK } from '../celeriac.messages';

/** Two @Task methods (or a method and a core task) claim the same task name. */
export class DuplicateTaskError extends ConfigError {
  constructor(
    readonly taskName: string,
    /** Both definitions, as `Class#method`. */
    readonly locations: readonly [string, string],
  ) {
    super('task', DUPLICATE_TASK(taskName, locations[0], locations[1]));
  }
}
