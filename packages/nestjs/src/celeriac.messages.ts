/** Message builders: every text the Nest module logs or throws, in one place. */

export const DUPLICATE_TASK = (name: string, first: string, second: string): string =>
  `Task name "${name}" is defined twice: by ${first} and by ${second}. Task names must be unique; pass an explicit name to @Task('...').`;

export const REQUEST_SCOPED_TASK = (location: string): string =>
  `${location} is a @Task on a request-scoped provider: it is skipped. A worker has no request; make the provider a singleton (the default scope) or move the task to one.`;

export const PERIODIC_WITHOUT_TASK = (location: string): string =>
  `${location} has @Periodic() but no @Task(): add @Task() so beat has a task to send.`;

export const NOT_A_TASK_PROVIDER = (className: string, method: string, name: string): string =>
  `${className}#${method} (task "${name}") is not registered: is ${className} a provider of a module of this application?`;

export const INVALID_SCHEDULE = (detail: string): string => `Invalid @Periodic schedule: ${detail}`;
