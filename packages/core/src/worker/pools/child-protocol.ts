/**
 * What the worker and a pool child (thread or process) say to each other. Everything is
 * structured-cloneable: errors travel as plain `{ name, message, stack }` and are rebuilt as Error
 * objects on the worker's side (TaskRevokedError is rebuilt as itself; REVOKED outcomes need it).
 */
import type { DeliveryInfo } from '../../brokers/broker';
import { TaskRevokedError } from '../../errors';
import type { TaskMessage } from '../../protocol/message-v2';
import type { Outcome } from '../executor';
import type { AppSource } from './pool';

export interface WireError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  /** TaskRevokedError's reason. */
  reason?: string;
}

/** The worker to a child. */
export type ToChild =
  | { type: 'init'; appSource: AppSource; hostname: string }
  | { type: 'run'; message: TaskMessage; deliveryInfo: DeliveryInfo }
  | { type: 'close' };

type Wired<T> = T extends { error: unknown } ? Omit<T, 'error'> & { error: WireError } : T;
export type WireOutcome = Wired<Outcome>;

/** A child to the worker. `memoryKiB`: RSS of a process, V8 heap in use of a thread. */
export type FromChild =
  | { type: 'ready' }
  | { type: 'init-failed'; error: WireError }
  | { type: 'done'; id: string; outcome: WireOutcome; memoryKiB: number };

export function toWireError(value: unknown): WireError {
  if (value instanceof Error) {
    const wire: WireError = { name: value.name, message: value.message, stack: value.stack };
    const { code, reason } = value as { code?: unknown; reason?: unknown };
    if (typeof code === 'string') wire.code = code;
    if (typeof reason === 'string') wire.reason = reason;
    return wire;
  }
  return { name: 'Error', message: typeof value === 'string' ? value : String(value) };
}

export function fromWireError(wire: WireError): Error {
  if (wire.name === 'TaskRevokedError') return Object.assign(new TaskRevokedError(wire.reason ?? wire.message), { stack: wire.stack });
  const error = new Error(wire.message);
  error.name = wire.name;
  if (wire.stack) error.stack = wire.stack;
  if (wire.code) Object.assign(error, { code: wire.code });
  return error;
}

export function toWireOutcome(outcome: Outcome): WireOutcome {
  return 'error' in outcome ? ({ ...outcome, error: toWireError(outcome.error) }) : outcome;
}

export function fromWireOutcome(wire: WireOutcome): Outcome {
  if (!('error' in wire)) return wire;
  if (wire.state === 'REVOKED') return { ...wire, error: fromWireError(wire.error) as TaskRevokedError };
  return { ...wire, error: fromWireError(wire.error) };
}
