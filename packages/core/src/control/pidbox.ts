/**
 * Celery's remote-control messages (celery-wire.md §7): requests broadcast on the fanout exchange
 * `celery.pidbox`, replies sent to the direct exchange `reply.celery.pidbox` with the requester's
 * oid as routing key. JSON bodies, as Kombu's Mailbox writes them.
 */
import { globToRegExp } from '../app/router';
import { DecodeError } from '../errors';
import { parseJson, stringifyJson } from '../protocol/serializers';
import type { WireMessage } from '../protocol/wire-message';

export const PIDBOX_EXCHANGE = 'celery.pidbox';
export const REPLY_EXCHANGE = 'reply.celery.pidbox';

/**
 * How Kombu's Mailbox declares the node and reply queues on AMQP (celery-wire.md §4.1): non-durable,
 * auto-delete, gone 10 s after their consumer, messages dropped after 5 min. Ignored on Redis.
 */
export const MAILBOX_QUEUE = { durable: false, autoDelete: true, arguments: { 'x-expires': 10_000, 'x-message-ttl': 300_000 } } as const;

/** The queue a worker reads its commands from. */
export const workerMailboxQueue = (nodename: string): string => `${nodename}.celery.pidbox`;
/** The queue a client reads replies from. */
export const replyQueue = (oid: string): string => `${oid}.reply.celery.pidbox`;

export interface ControlRequest {
  method: string;
  arguments: Record<string, unknown>;
  /** Node names that should act; null = every worker. */
  destination: string[] | null;
  pattern: string | null;
  /** 'glob' or 'pcre' (with pattern). */
  matcher: string | null;
  /** Present when a reply is wanted. */
  ticket?: string;
  reply_to?: { exchange: string; routing_key: string };
}

const json = (value: unknown): Buffer => Buffer.from(stringifyJson(value));

export function encodeControlRequest(request: ControlRequest, clock: number, timeoutSeconds: number | null): WireMessage {
  return {
    headers: { clock, expires: timeoutSeconds ? Date.now() / 1000 + timeoutSeconds : 0 },
    properties: { deliveryMode: 2, priority: 0 },
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    body: json(request),
  };
}

export function decodeControlRequest(message: WireMessage): ControlRequest {
  const body = parseJson(message.body.toString('utf8')) as Partial<ControlRequest> | null;
  if (!body || typeof body !== 'object' || typeof body.method !== 'string') throw new DecodeError('Control message has no "method".');
  const destination = Array.isArray(body.destination) ? body.destination.map(String) : typeof body.destination === 'string' ? [body.destination] : null;
  return {
    method: body.method,
    arguments: body.arguments && typeof body.arguments === 'object' ? body.arguments : {},
    destination: destination?.length ? destination : null,
    pattern: typeof body.pattern === 'string' ? body.pattern : null,
    matcher: typeof body.matcher === 'string' ? body.matcher : null,
    ...(typeof body.ticket === 'string' ? { ticket: body.ticket } : {}),
    ...(body.reply_to && typeof body.reply_to === 'object' ? { reply_to: body.reply_to } : {}),
  };
}

/** Kombu's Node.handle_message filter: the destination list, else pattern + matcher, else everyone. */
export function isForNode(request: ControlRequest, nodename: string): boolean {
  if (request.destination) return request.destination.includes(nodename);
  if (request.pattern) {
    if (request.matcher === 'pcre') return new RegExp(request.pattern).test(nodename);
    return globToRegExp(request.pattern).test(nodename);
  }
  return true;
}

export function encodeControlReply(nodename: string, value: unknown, ticket: string, clock: number): WireMessage {
  return {
    headers: { ticket, clock },
    properties: { deliveryMode: 1, priority: 0 },
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    body: json({ [nodename]: value }),
  };
}

export function decodeControlReply(message: WireMessage): { ticket: string | null; replies: Record<string, unknown> } {
  const body = parseJson(message.body.toString('utf8')) as Record<string, unknown> | null;
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new DecodeError('Control reply is not an object.');
  const ticket = message.headers?.ticket;
  return { ticket: typeof ticket === 'string' ? ticket : null, replies: body };
}
