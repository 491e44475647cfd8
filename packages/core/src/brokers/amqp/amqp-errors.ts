/**
 * Which amqplib errors are worth a reconnect or a retry, and how they read as Celeriac errors.
 *
 * Mirrors py-amqp's split (amqp/exceptions.py) that Kombu's `connection_errors` builds on: socket
 * errors, heartbeat timeouts, a connection closed by the server (320 CONNECTION_FORCED, 506
 * RESOURCE_ERROR, 541 INTERNAL_ERROR) and a channel that died with its connection are recoverable;
 * a channel closed for cause (403 ACCESS_REFUSED, 404 NOT_FOUND, 405 RESOURCE_LOCKED,
 * 406 PRECONDITION_FAILED) would fail again the same way and is not.
 */
import { BrokerConnectionError, BrokerError, CeleriacError } from '../../errors';

const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'ENOTCONN']);
/** AMQP reply codes after which a new connection may well succeed. */
const RECOVERABLE_REPLY_CODES = new Set([320, 505, 506, 541]);
/** amqplib's messages for a connection or channel that went away underneath an operation. */
const GONE = /Connection closed|Channel closed(?! by server)|Channel ended|channel closed|Heartbeat timeout|Unexpected close|Socket closed|connect ETIMEDOUT|Channel closing|Connection closing/;

export function isRecoverableAmqpError(error: unknown): boolean {
  if (error instanceof BrokerConnectionError) return true;
  if (error instanceof CeleriacError || !error || typeof error !== 'object') return false;
  const { code, message, name } = error as { code?: unknown; message?: unknown; name?: unknown };
  if (typeof code === 'string') return SOCKET_CODES.has(code);
  if (typeof code === 'number') return RECOVERABLE_REPLY_CODES.has(code);
  if (name === 'IllegalOperationError') return true;
  return typeof message === 'string' && GONE.test(message);
}

/** The AMQP reply code of a channel or connection close, if any. */
export function replyCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** A driver error as a BrokerConnectionError (worth a retry) or a BrokerError, naming the server. */
export function wrapAmqpError(error: unknown, where: string): Error {
  if (error instanceof CeleriacError) return error;
  const message = `RabbitMQ ${where}: ${error instanceof Error ? error.message : String(error)}`;
  return isRecoverableAmqpError(error) ? new BrokerConnectionError(message, { cause: error }) : new BrokerError(message, { cause: error });
}

/**
 * A 406 PRECONDITION_FAILED on queue.declare as a BrokerError saying which queue and argument differ.
 * RabbitMQ's text: `PRECONDITION_FAILED - inequivalent arg 'x-max-priority' for queue 'q' in vhost
 * '/': received the value '5' of type 'signedint' but current is none`.
 */
export function declareMismatchError(kind: 'queue' | 'exchange', name: string, error: unknown): BrokerError {
  const text = error instanceof Error ? error.message : String(error);
  const arg = /inequivalent arg '([^']+)'/.exec(text)?.[1];
  const detail = /inequivalent arg '[^']+' for \w+ '[^']*' in vhost '[^']*': (.*)$/.exec(text)?.[1];
  const what = arg ? `argument "${arg}" differs (${detail ?? text})` : text;
  return new BrokerError(
    `RabbitMQ refused to redeclare ${kind} "${name}": ${what}. It already exists with other settings, declared by another client ` +
      `(e.g. a Python worker with task_queue_max_priority). Declare it identically everywhere, or delete it (rabbitmqctl delete_queue) first.`,
    { cause: error },
  );
}
