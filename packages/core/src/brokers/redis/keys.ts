/**
 * Kombu's Redis layout, every key name and format in one file (celery-wire.md §3). Sources, kombu 5.2.4
 * unless noted: `kombu/transport/redis.py` (Channel, QoS, GlobalKeyPrefixMixin) and
 * `kombu/transport/virtual/{base,exchange}.py`. A Python worker or client sharing the same Redis
 * database reads and writes exactly these keys, so nothing here may change shape.
 *
 * This is the only place where the envelope's snake_case names meet Celeriac's camelCase ones.
 */
import { DecodeError } from '../../errors';
import { parseJson, stringifyJson } from '../../protocol/serializers/json';
import type { WireMessage, WireProperties } from '../../protocol/wire-message';
import type { Route } from '../broker';
import { PRIORITY_STEPS, priorityStep } from '../priority';

/** Separator inside priority list names and binding members (redis.py `Channel.sep = '\x06\x16'`). */
export const SEP = '\x06\x16';
/** Set of bindings of one exchange (redis.py `Channel.keyprefix_queue = '_kombu.binding.%s'`). */
export const BINDING_KEY_PREFIX = '_kombu.binding.';
/** Hash delivery_tag -> `[envelope, exchange, routing_key]` (redis.py `Channel.unacked_key`). */
export const UNACKED_KEY = 'unacked';
/** Sorted set delivery_tag scored by delivery time in float seconds (redis.py `unacked_index_key`). */
export const UNACKED_INDEX_KEY = 'unacked_index';
/** Lock taken by `restore_visible` (redis.py `unacked_mutex_key`). */
export const UNACKED_MUTEX_KEY = 'unacked_mutex';
/** Lock lifetime (redis.py `unacked_mutex_expire = 300` seconds, taken as `SET ... PX 300000 NX`). */
export const UNACKED_MUTEX_EXPIRE_MS = 300_000;
/** Seconds before an unacked message is restored (redis.py `visibility_timeout = 3600`). */
export const DEFAULT_VISIBILITY_TIMEOUT = 3600;
/** BRPOP timeout in seconds (redis.py `Channel._brpop_start(timeout=1)`). */
export const BRPOP_TIMEOUT = 1;
/** Fanout channel prefix, `{db}` replaced by the database number (redis.py `keyprefix_fanout = '/{db}.'`). */
export const FANOUT_PREFIX_TEMPLATE = '/{db}.';
/**
 * Celeriac's own, not Kombu's: the list where the consumer moves a popped value that is not a Kombu
 * envelope (Kombu's consumer would crash on it), LPUSHed as a {@link deadLetterEntry}. Nothing reads
 * it; inspect with `LRANGE`, requeue a fixed payload with `RPUSH <list>`, clear with `DEL`.
 */
export const DEAD_LETTER_KEY = 'celeriac.dead_letter';
/**
 * Celeriac's own, not Kombu's: the sorted set of delayed deliveries (`publishDelayed`, redis-delayed.ts),
 * each member a {@link delayedMember} scored by its due time in ms of the Redis clock. Consuming
 * Celeriac workers move due members to their queue lists; Python Celery neither writes nor reads it.
 */
export const DELAYED_KEY = 'celeriac.delayed';
/** The only body encoding Kombu writes (virtual/base.py `Channel.body_encoding = 'base64'`). */
export const BODY_ENCODING = 'base64';

/** Unprefixed list name holding `queue`'s messages of a priority (redis.py `Channel._q_for_pri`). */
export function queueListName(queue: string, priority: number): string {
  const step = priorityStep(priority);
  return step ? `${queue}${SEP}${step}` : queue;
}

/** Binding set member (redis.py `Channel._queue_bind`): `routing_key SEP pattern SEP queue`. */
export function bindingMember(routingKey: string, pattern: string, queue: string): string {
  return [routingKey, pattern, queue].join(SEP);
}

export interface Binding {
  routingKey: string;
  /** Regex for topic exchanges, '' for direct ones. */
  pattern: string;
  queue: string;
}

/** Splits a binding member as redis.py `Channel.get_table` does; undefined if it has not 3 parts. */
export function parseBindingMember(member: string): Binding | undefined {
  const parts = member.split(SEP);
  if (parts.length !== 3) return undefined;
  return { routingKey: parts[0]!, pattern: parts[1]!, queue: parts[2]! };
}

/**
 * Topic binding key to regex (virtual/exchange.py `TopicExchange.key_to_pattern`): words split on '.',
 * `*` = one word, `#` = any number of words, everything else escaped.
 */
export function topicKeyToPattern(routingKey: string): string {
  const wildcards: Record<string, string> = { '*': '.*?[^\\.]', '#': '.*?' };
  // kombu.utils.text.escape_regex(key, '.#*'): every character but alphanumerics and `.#*` escaped.
  const escape = (word: string): string => word.replace(/[^\p{L}\p{N}.#*]/gu, (c) => (c === '\0' ? '\\000' : `\\${c}`));
  return `^${escape(routingKey)
    .split('.')
    .map((w) => wildcards[w] ?? w)
    .join('\\.')}$`;
}

const compiled = new Map<string, RegExp | null>();

/**
 * The queues a routing key reaches through one exchange's bindings: a pattern means a topic binding
 * (`re.match(pattern, key)`), no pattern a direct one (equal keys). Each queue once, as Kombu's set.
 */
export function matchBindings(bindings: readonly Binding[], routingKey: string): string[] {
  const out = new Set<string>();
  for (const b of bindings) {
    if (b.pattern === '') {
      if (b.routingKey === routingKey) out.add(b.queue);
      continue;
    }
    let re = compiled.get(b.pattern);
    if (re === undefined) {
      try {
        re = new RegExp(b.pattern.startsWith('^') ? b.pattern : `^(?:${b.pattern})`);
      } catch {
        re = null; // a Python-only regex: Kombu would match it, we cannot; skip rather than throw
      }
      compiled.set(b.pattern, re);
    }
    if (re?.test(routingKey)) out.add(b.queue);
  }
  return [...out];
}

/**
 * Key names with Kombu's `global_keyprefix` applied. The prefix goes on every key and channel
 * (redis.py `GlobalKeyPrefixMixin`), never inside values such as binding members.
 */
export class KombuKeys {
  readonly unacked: string;
  readonly unackedIndex: string;
  readonly unackedMutex: string;
  /** Ours, not Kombu's: see {@link DEAD_LETTER_KEY}. */
  readonly deadLetter: string;
  /** Ours, not Kombu's: see {@link DELAYED_KEY}. */
  readonly delayed: string;

  constructor(readonly prefix = '') {
    this.unacked = prefix + UNACKED_KEY;
    this.unackedIndex = prefix + UNACKED_INDEX_KEY;
    this.unackedMutex = prefix + UNACKED_MUTEX_KEY;
    this.deadLetter = prefix + DEAD_LETTER_KEY;
    this.delayed = prefix + DELAYED_KEY;
  }

  /** The list a message of `priority` is pushed to. */
  queueList(queue: string, priority: number): string {
    return this.prefix + queueListName(queue, priority);
  }

  /** The four lists of a queue, served first to last. */
  queueLists(queue: string): string[] {
    return PRIORITY_STEPS.map((s) => this.queueList(queue, s));
  }

  /**
   * BRPOP key order for several queues: priority-major, queue-minor (redis.py `_brpop_start`):
   * `a, b, a SEP 3, b SEP 3, ...`.
   */
  consumeOrder(queues: readonly string[]): string[] {
    const out: string[] = [];
    for (const step of PRIORITY_STEPS) for (const q of queues) out.push(this.queueList(q, step));
    return out;
  }

  binding(exchange: string): string {
    return `${this.prefix}${BINDING_KEY_PREFIX}${exchange}`;
  }

  /**
   * Pub/sub channel of a fanout exchange (redis.py `_get_publish_topic` with `fanout_patterns`):
   * `/{db}.exchange` or `/{db}.exchange/routing_key`, the key prefix in front (`PrefixedRedisPubSub`).
   */
  fanoutChannel(db: number, exchange: string, routingKey = ''): string {
    const base = this.prefix + FANOUT_PREFIX_TEMPLATE.replace('{db}', String(db)) + exchange;
    return routingKey ? `${base}/${routingKey}` : base;
  }

  /**
   * The PSUBSCRIBE pattern of a queue bound to a fanout exchange with `bindingKey` (redis.py
   * `_get_subscribe_topic`; `_queue_bind` stores the key with `#` replaced by `*`).
   */
  fanoutPattern(db: number, exchange: string, bindingKey: string): string {
    return this.fanoutChannel(db, exchange, bindingKey.replace(/#/g, '*'));
  }
}

// ---------------------------------------------------------------------------------------------------
// The envelope (virtual/base.py `Channel.prepare_message` + `_inplace_augment_message`).

/** A Kombu envelope after decoding, with what the broker needs beside the WireMessage. */
export interface DecodedEnvelope {
  message: WireMessage;
  exchange: string;
  routingKey: string;
  deliveryTag: string;
  redelivered: boolean;
  /** `properties.priority`, 0 when absent or not a number. */
  priority: number;
  /** The parsed JSON object, every key kept (for restore, which re-serializes it). */
  raw: Record<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Serializes a message as Kombu would: keys `body`, `content-encoding`, `content-type`, `headers`,
 * `properties` {correlation_id, reply_to, delivery_mode, expiration, delivery_info, priority,
 * body_encoding, delivery_tag}; absent optional properties are left out, priority defaults to 0.
 */
export function encodeEnvelope(message: WireMessage, route: Route, deliveryTag: string): string {
  const p = message.properties;
  // Written out rather than JSON.stringify of a built object (publishing's hot path): only the
  // headers go through a serializer; plain JSON.stringify first, the lossless encoder when a BigInt
  // in a custom header makes it throw. Key order as Kombu writes it.
  let headers: string;
  try {
    headers = JSON.stringify(message.headers);
  } catch {
    headers = stringifyJson(message.headers);
  }
  let properties = '{';
  if (p.correlationId !== undefined) properties += `"correlation_id":${JSON.stringify(p.correlationId)},`;
  if (p.replyTo !== undefined) properties += `"reply_to":${JSON.stringify(p.replyTo)},`;
  if (p.deliveryMode !== undefined) properties += `"delivery_mode":${JSON.stringify(p.deliveryMode)},`;
  if (p.expiration !== undefined) properties += `"expiration":${JSON.stringify(p.expiration)},`;
  properties += `"delivery_info":{"exchange":${JSON.stringify(route.exchange)},"routing_key":${JSON.stringify(route.routingKey)}},`;
  properties += `"priority":${JSON.stringify(p.priority ?? 0)},"body_encoding":"${BODY_ENCODING}","delivery_tag":${JSON.stringify(deliveryTag)}}`;
  // base64 needs no escaping
  return `{"body":"${message.body.toString('base64')}","content-encoding":${JSON.stringify(message.contentEncoding)},"content-type":${JSON.stringify(message.contentType)},"headers":${headers},"properties":${properties}}`;
}

/** Parses a Kombu envelope string; throws DecodeError if it is not JSON or lacks a required field. */
export function decodeEnvelope(text: string): DecodedEnvelope {
  let parsed: unknown;
  try {
    // The envelope is ours or Kombu's: plain JSON.parse is exact for it (its integers are small); the
    // tolerant parser only takes over when JSON.parse refuses (NaN/Infinity from Python).
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = parseJson(text);
    }
  } catch (err) {
    throw new DecodeError(`Redis message is not JSON: ${preview(text)}`, { cause: err });
  }
  return decodeEnvelopeObject(parsed, text);
}

/** As decodeEnvelope, for an already parsed envelope (e.g. from an `unacked` entry). */
export function decodeEnvelopeObject(parsed: unknown, text = ''): DecodedEnvelope {
  const fail = (what: string): never => {
    throw new DecodeError(`Redis message is not a Kombu envelope (${what}): ${preview(text || safeStringify(parsed))}`);
  };
  if (!isObject(parsed)) return fail('not a JSON object');
  const props = parsed.properties;
  if (!isObject(props)) return fail('no "properties" object');
  const info = props.delivery_info;
  if (!isObject(info)) return fail('no "properties.delivery_info" object');
  const { exchange, routing_key: routingKey } = info;
  if (typeof exchange !== 'string' || typeof routingKey !== 'string') return fail('delivery_info.exchange/routing_key missing');
  const tag = props.delivery_tag;
  if (typeof tag !== 'string' || tag === '') return fail('no "properties.delivery_tag"');
  const body = parsed.body;
  if (typeof body !== 'string') return fail('"body" is not a string');
  const headers = parsed.headers ?? {};
  if (!isObject(headers)) return fail('"headers" is not an object');
  // Kombu decodes base64 only when body_encoding says so; otherwise the body is used as is.
  let bytes: Buffer;
  if (props.body_encoding === BODY_ENCODING) bytes = Buffer.from(body, 'base64');
  else if (props.body_encoding === undefined || props.body_encoding === null) bytes = Buffer.from(body, 'utf8');
  else return fail(`unknown body_encoding ${JSON.stringify(props.body_encoding)}`);

  const properties: WireProperties = {};
  if (typeof props.correlation_id === 'string') properties.correlationId = props.correlation_id;
  if (typeof props.reply_to === 'string') properties.replyTo = props.reply_to;
  if (typeof props.delivery_mode === 'number') properties.deliveryMode = props.delivery_mode;
  const priority = typeof props.priority === 'number' ? props.priority : typeof props.priority === 'bigint' ? Number(props.priority) : undefined;
  if (priority !== undefined) properties.priority = priority;
  if (typeof props.expiration === 'string' || typeof props.expiration === 'number') properties.expiration = String(props.expiration);
  const contentType = parsed['content-type'];
  const contentEncoding = parsed['content-encoding'];
  return {
    message: {
      headers,
      properties,
      contentType: typeof contentType === 'string' ? contentType : '',
      contentEncoding: typeof contentEncoding === 'string' ? contentEncoding : '',
      body: bytes,
    },
    exchange,
    routingKey,
    deliveryTag: tag,
    redelivered: info.redelivered === true,
    priority: priority ?? 0,
    raw: parsed,
  };
}

/**
 * A copy of the envelope marked as redelivered, as redis.py `Channel._do_restore_message` does
 * before pushing it back: `headers.redelivered` and `properties.delivery_info.redelivered` = true.
 */
export function markRedelivered(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  if (isObject(raw.headers)) out.headers = { ...raw.headers, redelivered: true };
  if (isObject(raw.properties)) {
    const props: Record<string, unknown> = { ...raw.properties };
    if (isObject(props.delivery_info)) props.delivery_info = { ...props.delivery_info, redelivered: true };
    out.properties = props;
  }
  return out;
}

/** Serializes an envelope object (after markRedelivered). */
export function stringifyEnvelope(raw: Record<string, unknown>): string {
  return stringifyJson(raw);
}

/**
 * The `unacked` hash value (redis.py `QoS.append`: `dumps([message._raw, EX, RK])`), built around the
 * envelope text as received so it is not re-serialized. Kept in step with the Lua version in
 * redis-broker.ts (`cjson.encode` for the two strings).
 */
export function unackedEntry(envelope: string, exchange: string, routingKey: string): string {
  return `[${envelope}, ${JSON.stringify(exchange)}, ${JSON.stringify(routingKey)}]`;
}

/** Parses an `unacked` hash value written by Kombu or by us; throws DecodeError when malformed. */
export function parseUnackedEntry(text: string): { envelope: Record<string, unknown>; exchange: string; routingKey: string } {
  let parsed: unknown;
  try {
    parsed = parseJson(text);
  } catch (err) {
    throw new DecodeError(`Unacked entry is not JSON: ${preview(text)}`, { cause: err });
  }
  if (!Array.isArray(parsed) || parsed.length < 3 || !isObject(parsed[0]) || typeof parsed[1] !== 'string' || typeof parsed[2] !== 'string') {
    throw new DecodeError(`Unacked entry is not [envelope, exchange, routing_key]: ${preview(text)}`);
  }
  return { envelope: parsed[0], exchange: parsed[1], routingKey: parsed[2] };
}

/**
 * A dead-letter list entry (ours, see {@link DEAD_LETTER_KEY}): JSON `{"reason", "list", "time",
 * "payload"}` — why, the list it was popped from, Unix time in float seconds, the value as popped.
 * The Lua fetch script writes the same fields (in its own key order).
 */
export function deadLetterEntry(reason: string, list: string, payload: string, nowMs = Date.now()): string {
  return JSON.stringify({ reason, list, time: Number(unackedScore(nowMs)), payload });
}

/**
 * A member of the delayed set (ours, see {@link DELAYED_KEY}): JSON `{"queue", "list", "envelope"}` —
 * the target queue, its list for the message's priority WITHOUT the key prefix (the mover adds it), and
 * the Kombu envelope pushed there unchanged. The envelope's fresh delivery tag makes each member unique.
 * The Lua mover (redis-scripts.ts) reads `list` and `envelope`.
 */
export function delayedMember(queue: string, priority: number | undefined, envelope: string): string {
  return JSON.stringify({ queue, list: queueListName(queue, priority ?? 0), envelope });
}

/** Unix time in float seconds, the `unacked_index` score (Python `time.time()`). */
export function unackedScore(nowMs = Date.now()): string {
  return (nowMs / 1000).toFixed(3);
}

function preview(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

function safeStringify(v: unknown): string {
  try {
    return String(JSON.stringify(v));
  } catch {
    return String(v);
  }
}
