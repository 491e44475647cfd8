/** Metadata keys and injection tokens of the Celeriac Nest module. */
import type { Type } from '@nestjs/common';

/** Injection token of the Celeriac app (`@InjectCeleriac()`). */
export const CELERIAC_APP = Symbol.for('celeriac:app');
/** Metadata key set by `@Task()` on a method. */
export const TASK_METADATA = 'celeriac:task';
/** Metadata key set by `@Periodic()` on a method. */
export const PERIODIC_METADATA = 'celeriac:periodic';
/** Default environment variable prefix (`CELERIAC_BROKER_URL`, ...). */
export const DEFAULT_ENV_PREFIX = 'CELERIAC_';

const proxyTokens = new WeakMap<Type<unknown>, symbol>();

/** The injection token of the TaskProxy of a provider class (`@InjectTasks(MailService)`): one per class. */
export function getTaskProxyToken(target: Type<unknown>): symbol {
  let token = proxyTokens.get(target);
  if (!token) {
    token = Symbol(`celeriac:tasks:${target.name}`);
    proxyTokens.set(target, token);
  }
  return token;
}
