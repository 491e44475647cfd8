/** Task states, as Celery names them (celery/states.py). Custom states (PROGRESS, ...) are plain strings. */
export const PENDING = 'PENDING';
export const RECEIVED = 'RECEIVED';
export const STARTED = 'STARTED';
export const SUCCESS = 'SUCCESS';
export const FAILURE = 'FAILURE';
export const REVOKED = 'REVOKED';
export const REJECTED = 'REJECTED';
export const RETRY = 'RETRY';
export const IGNORED = 'IGNORED';

export type BuiltinState = typeof PENDING | typeof RECEIVED | typeof STARTED | typeof SUCCESS | typeof FAILURE | typeof REVOKED | typeof REJECTED | typeof RETRY | typeof IGNORED;
/** A builtin state or a custom one from `updateState`. */
export type TaskState = BuiltinState | (string & {});

export const READY_STATES: ReadonlySet<string> = new Set([SUCCESS, FAILURE, REVOKED]);
export const UNREADY_STATES: ReadonlySet<string> = new Set([PENDING, RECEIVED, STARTED, REJECTED, RETRY]);
export const EXCEPTION_STATES: ReadonlySet<string> = new Set([RETRY, FAILURE, REVOKED]);
export const PROPAGATE_STATES: ReadonlySet<string> = new Set([FAILURE, REVOKED]);

// Highest first; custom states sit between FAILURE and REVOKED (celery/states.py PRECEDENCE).
const PRECEDENCE = [SUCCESS, FAILURE, null, REVOKED, STARTED, RECEIVED, REJECTED, RETRY, PENDING];

/** Lower number = more final; used to merge states seen out of order. */
export function statePrecedence(state: string): number {
  const i = PRECEDENCE.indexOf(state);
  return i === -1 ? PRECEDENCE.indexOf(null) : i;
}
