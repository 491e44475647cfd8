/**
 * Celery task messages, protocol 2 (celery/app/amqp.py `as_task_v2`), decoded to camelCase and back.
 * Protocol 1 bodies (`{task, id, args, ...}` with no `task` header) are accepted on input.
 * Spec: ../shared/protocol/celery-wire.md §2.
 */
import { DecodeError, EncodeError } from '../errors';
import { compress, decompress } from './compression';
import { formatWireDate, parseWireDate } from './dates';
import { COMPRESSION_HEADER, LANG, TASK_HEADERS } from './headers';
import { argsRepr, kwargsRepr } from './repr';
import { decodeBody, serializerByName } from './serializers';
import type { WireMessage } from './wire-message';

/** A signature in Celery's dict form, as it travels inside messages. */
export interface SignatureDict {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: Record<string, unknown>;
  subtask_type: string | null;
  immutable: boolean;
  [extra: string]: unknown;
}

/** The body's third element: work to do after this task. */
export interface TaskEmbed {
  callbacks: SignatureDict[] | null;
  errbacks: SignatureDict[] | null;
  chain: SignatureDict[] | null;
  chord: SignatureDict | null;
}

/** A task message, decoded. */
export interface TaskMessage {
  id: string;
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  embed: TaskEmbed;
  shadow: string | null;
  eta: Date | null;
  expires: Date | null;
  group: string | null;
  groupIndex: number | null;
  retries: number;
  /** [hard, soft] seconds: Celery's order, not the documented one (Gotcha 4). */
  timeLimit: [number | null, number | null];
  rootId: string;
  parentId: string | null;
  argsrepr: string;
  kwargsrepr: string;
  origin: string;
  ignoreResult: boolean;
  /** Headers we do not model (custom headers, stamps): merged at the top level when sent. */
  customHeaders: Record<string, unknown>;
  correlationId: string;
  replyTo: string | null;
  priority: number;
  deliveryMode: number;
  /** The protocol the message arrived in (always 2 when we send). */
  protocol: 1 | 2;
}

export interface EncodeOptions {
  serializer?: string;
  compression?: string;
}

export const EMPTY_EMBED: TaskEmbed = Object.freeze({ callbacks: null, errbacks: null, chain: null, chord: null });

/** Fills in every default, so callers give only what they know. */
export function createTaskMessage(fields: Pick<TaskMessage, 'id' | 'task'> & Partial<TaskMessage>): TaskMessage {
  const args = fields.args ?? [];
  const kwargs = fields.kwargs ?? {};
  // Computed only when not given (sending gives them): a repr walks every argument.
  const argsrepr = fields.argsrepr ?? argsRepr(args);
  const kwargsrepr = fields.kwargsrepr ?? kwargsRepr(kwargs);
  return {
    embed: { ...EMPTY_EMBED },
    shadow: null,
    eta: null,
    expires: null,
    group: null,
    groupIndex: null,
    retries: 0,
    timeLimit: [null, null],
    rootId: fields.id,
    parentId: null,
    origin: '',
    ignoreResult: false,
    customHeaders: {},
    correlationId: fields.id,
    replyTo: null,
    priority: 0,
    deliveryMode: 2,
    protocol: 2,
    ...fields,
    args,
    kwargs,
    argsrepr,
    kwargsrepr,
  };
}

/** Encodes a task message to the wire, exactly as Celery 5 lays it out. */
export function encodeTaskMessage(msg: TaskMessage, options: EncodeOptions = {}): WireMessage {
  const serializer = serializerByName(options.serializer ?? 'json');
  if (!Array.isArray(msg.args)) throw new EncodeError(`Task ${msg.task}: args must be an array.`);
  const headers: Record<string, unknown> = {
    lang: LANG,
    task: msg.task,
    id: msg.id,
    shadow: msg.shadow,
    eta: msg.eta ? formatWireDate(msg.eta) : null,
    expires: msg.expires ? formatWireDate(msg.expires) : null,
    group: msg.group,
    group_index: msg.groupIndex,
    retries: msg.retries,
    timelimit: msg.timeLimit,
    root_id: msg.rootId,
    parent_id: msg.parentId,
    argsrepr: msg.argsrepr,
    kwargsrepr: msg.kwargsrepr,
    origin: msg.origin,
    ignore_result: msg.ignoreResult,
  };
  for (const [k, v] of Object.entries(msg.customHeaders)) {
    if (!(k in headers)) headers[k] = v;
  }
  // The embed object must always be present: a two-element body kills a Python 5.2 worker (Gotcha 1).
  let body = serializer.encode([msg.args, msg.kwargs, msg.embed]);
  if (options.compression) {
    const compressed = compress(body, options.compression);
    body = compressed.body;
    headers[COMPRESSION_HEADER] = compressed.header;
  }
  const properties: WireMessage['properties'] = {
    correlationId: msg.correlationId,
    deliveryMode: msg.deliveryMode,
    priority: msg.priority,
  };
  if (msg.replyTo) properties.replyTo = msg.replyTo;
  if (msg.expires) properties.expiration = String(Math.max(0, msg.expires.getTime() - Date.now()));
  return { headers, properties, contentType: serializer.contentType, contentEncoding: serializer.contentEncoding, body };
}

const KNOWN = new Set<string>([...TASK_HEADERS, COMPRESSION_HEADER]);

function str(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new DecodeError(`Task message has no valid "${field}" (got ${JSON.stringify(value)}).`);
  return value;
}
const optStr = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const optDate = (v: unknown, field: string): Date | null => {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v !== 'string') throw new DecodeError(`Task message field "${field}" must be an ISO-8601 string, got ${JSON.stringify(v)}.`);
  return parseWireDate(v, field);
};
const optInt = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null);

function decodeTimeLimit(v: unknown): [number | null, number | null] {
  if (!Array.isArray(v)) return [null, null];
  return [optInt(v[0]), optInt(v[1])];
}

function decodeEmbed(v: unknown): TaskEmbed {
  if (v === null || v === undefined) return { ...EMPTY_EMBED };
  if (typeof v !== 'object' || Array.isArray(v)) throw new DecodeError('Task body embed (third element) must be an object.');
  const e = v as Record<string, unknown>;
  const list = (x: unknown, name: string): SignatureDict[] | null => {
    if (x === null || x === undefined) return null;
    if (!Array.isArray(x)) throw new DecodeError(`Task body embed.${name} must be a list of signatures.`);
    return x as SignatureDict[];
  };
  return {
    callbacks: list(e.callbacks, 'callbacks'),
    errbacks: list(e.errbacks, 'errbacks'),
    chain: list(e.chain, 'chain'),
    chord: (e.chord as SignatureDict | null | undefined) ?? null,
  };
}

function checkArgs(args: unknown, kwargs: unknown): asserts args is unknown[] {
  if (!Array.isArray(args)) throw new DecodeError(`Task args must be a list, got ${typeof args}.`);
  if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) throw new DecodeError('Task kwargs must be an object.');
}

/**
 * Decodes a task message. Throws DecodeError (malformed) or ContentDisallowedError (content type not
 * in `accept`); the caller rejects the message and records why.
 */
export function decodeTaskMessage(wire: WireMessage, accept: readonly string[]): TaskMessage {
  const h = wire.headers ?? {};
  let raw = wire.body;
  const compression = h[COMPRESSION_HEADER];
  if (typeof compression === 'string' && compression) raw = decompress(raw, compression);
  const body = decodeBody(raw, wire.contentType, accept);
  const props = wire.properties ?? {};
  const priority = typeof props.priority === 'number' ? props.priority : 0;
  if (typeof h.task !== 'string') return decodeProtocolV1(body, wire, priority);

  if (!Array.isArray(body) || body.length < 2) {
    throw new DecodeError('Task body must be [args, kwargs, embed].');
  }
  const [args, kwargs, embed] = body as [unknown, unknown, unknown];
  checkArgs(args, kwargs);
  const id = str(h.id, 'id');
  const customHeaders: Record<string, unknown> = {};
  for (const k in h) if (!KNOWN.has(k)) customHeaders[k] = h[k]; // no entries array per message
  return {
    id,
    task: str(h.task, 'task'),
    args,
    kwargs: kwargs as Record<string, unknown>,
    embed: decodeEmbed(embed),
    shadow: optStr(h.shadow),
    eta: optDate(h.eta, 'eta'),
    expires: optDate(h.expires, 'expires'),
    group: optStr(h.group),
    groupIndex: optInt(h.group_index),
    retries: optInt(h.retries) ?? 0,
    timeLimit: decodeTimeLimit(h.timelimit),
    rootId: optStr(h.root_id) ?? id,
    parentId: optStr(h.parent_id),
    argsrepr: typeof h.argsrepr === 'string' ? h.argsrepr : argsRepr(args),
    kwargsrepr: typeof h.kwargsrepr === 'string' ? h.kwargsrepr : kwargsRepr(kwargs as Record<string, unknown>),
    origin: typeof h.origin === 'string' ? h.origin : '',
    ignoreResult: h.ignore_result === true,
    customHeaders,
    correlationId: props.correlationId ?? id,
    replyTo: props.replyTo ?? null,
    priority,
    deliveryMode: props.deliveryMode ?? 2,
    protocol: 2,
  };
}

/** Protocol 1: everything in the body object (celery/app/amqp.py `as_task_v1`). */
function decodeProtocolV1(body: unknown, wire: WireMessage, priority: number): TaskMessage {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new DecodeError('Message has no "task" header and its body is not a protocol 1 object.');
  }
  const b = body as Record<string, unknown>;
  const args = b.args ?? [];
  const kwargs = b.kwargs ?? {};
  checkArgs(args, kwargs);
  const id = str(b.id, 'id');
  const chord = (b.chord as SignatureDict | null | undefined) ?? null;
  return createTaskMessage({
    id,
    task: str(b.task, 'task'),
    args,
    kwargs: kwargs as Record<string, unknown>,
    embed: {
      callbacks: (b.callbacks as SignatureDict[] | null | undefined) ?? null,
      errbacks: (b.errbacks as SignatureDict[] | null | undefined) ?? null,
      chain: null,
      chord,
    },
    eta: optDate(b.eta, 'eta'),
    expires: optDate(b.expires, 'expires'),
    group: optStr(b.taskset) ?? optStr(b.group),
    groupIndex: optInt(b.group_index),
    retries: optInt(b.retries) ?? 0,
    timeLimit: decodeTimeLimit(b.timelimit),
    correlationId: wire.properties.correlationId ?? id,
    replyTo: wire.properties.replyTo ?? null,
    priority,
    protocol: 1,
  });
}
