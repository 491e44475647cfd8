/**
 * keys.ts against captured Celery 5.2.6 / Kombu 5.2.4 traffic (/work/shared/protocol/vectors/redis):
 * every envelope a Python client LPUSHed decodes with headers, properties and body bytes intact, and
 * re-encodes to the same JSON in Kombu's key order; key names, bindings and unacked entries match.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DEAD_LETTER_KEY, KombuKeys, SEP, bindingMember, deadLetterEntry, decodeEnvelope, encodeEnvelope, markRedelivered, matchBindings, parseBindingMember, parseUnackedEntry,
  queueListName, stringifyEnvelope, topicKeyToPattern, unackedEntry,
} from '../../src/brokers/redis/keys';
import { DecodeError } from '../../src/errors';
import { parseJson } from '../../src/protocol/serializers/json';

const VECTORS = path.resolve(__dirname, '../../../../../shared/protocol/vectors/redis');

interface RedisCommand {
  cmd: string[];
  decoded?: { body_bytes_utf8?: string };
}

function load<T>(file: string): T {
  return JSON.parse(fs.readFileSync(path.join(VECTORS, file), 'utf8')) as T;
}

const publishFiles = fs.existsSync(path.join(VECTORS, 'publish')) ? fs.readdirSync(path.join(VECTORS, 'publish')).filter((f) => f.endsWith('.json')).sort() : [];
const pushes = publishFiles.flatMap((file) =>
  load<{ redis_commands: RedisCommand[] }>(`publish/${file}`)
    .redis_commands.filter((c) => c.cmd[0] === 'LPUSH')
    .map((c, i) => ({ name: `${file} #${i}`, list: c.cmd[1]!, text: c.cmd[2]!, bodyText: c.decoded?.body_bytes_utf8 })),
);

type Envelope = Record<string, unknown> & { body: string; headers: Record<string, unknown>; properties: Record<string, unknown> & { delivery_info: { exchange: string; routing_key: string } } };

describe('Kombu Redis envelope', () => {
  it('finds the publish vectors', () => {
    expect(fs.existsSync(VECTORS)).toBe(true);
    expect(pushes.length).toBeGreaterThanOrEqual(20);
  });

  it.each(pushes.map((p) => [p.name, p] as const))('replays %s', (_name, p) => {
    const original = parseJson(p.text) as Envelope;
    const d = decodeEnvelope(p.text);
    const props = original.properties;

    expect(d.message.headers).toEqual(original.headers);
    expect(d.message.body.equals(Buffer.from(original.body, 'base64'))).toBe(true);
    if (p.bodyText !== undefined) expect(d.message.body.toString('utf8')).toBe(p.bodyText);
    expect(d.message.contentType).toBe(original['content-type']);
    expect(d.message.contentEncoding).toBe(original['content-encoding']);
    expect(d.message.properties.correlationId).toBe(props.correlation_id);
    expect(d.message.properties.replyTo).toBe(props.reply_to);
    expect(d.message.properties.deliveryMode).toBe(props.delivery_mode);
    expect(d.message.properties.priority).toBe(props.priority);
    expect(d.message.properties.expiration).toBe(props.expiration);
    expect(d).toMatchObject({ exchange: props.delivery_info.exchange, routingKey: props.delivery_info.routing_key, deliveryTag: props.delivery_tag, redelivered: false });
    // the list it was pushed to
    expect(p.list).toBe(queueListName(d.routingKey, d.priority));

    const again = encodeEnvelope(d.message, { exchange: d.exchange, routingKey: d.routingKey }, d.deliveryTag);
    const reparsed = parseJson(again) as Envelope;
    expect(reparsed).toEqual(original);
    expect(Object.keys(reparsed)).toEqual(Object.keys(original));
    expect(Object.keys(reparsed.properties)).toEqual(Object.keys(original.properties));
    expect(Object.keys(reparsed.headers)).toEqual(Object.keys(original.headers));
  });

  it('writes the unacked entry exactly as Kombu does, and restores it as Kombu does', () => {
    type Step = { redis_commands: RedisCommand[] };
    const steps = load<{ steps: Step[] }>('restore/visibility_timeout_restore.json').steps;
    const pushed = steps[0]!.redis_commands.find((c) => c.cmd[0] === 'LPUSH')!.cmd[2]!;
    const hset = steps[1]!.redis_commands.find((c) => c.cmd[0] === 'HSET')!.cmd;
    const rpush = steps[2]!.redis_commands.find((c) => c.cmd[0] === 'RPUSH')!.cmd;
    const d = decodeEnvelope(pushed);
    expect(hset[1]).toBe('unacked');
    expect(hset[2]).toBe(d.deliveryTag);
    expect(unackedEntry(pushed, d.exchange, d.routingKey)).toBe(hset[3]);

    const entry = parseUnackedEntry(hset[3]!);
    expect(entry).toMatchObject({ exchange: '', routingKey: 'celery' });
    const restored = parseJson(stringifyEnvelope(markRedelivered(entry.envelope))) as Envelope;
    const python = parseJson(rpush[2]!) as Envelope;
    expect(rpush[1]).toBe('celery');
    expect(restored).toEqual(python);
    expect(Object.keys(restored.headers)).toEqual(Object.keys(python.headers));
    expect(Object.keys(restored.properties.delivery_info)).toEqual(Object.keys(python.properties.delivery_info));
    expect(decodeEnvelope(rpush[2]!).redelivered).toBe(true);
  });

  it('reads the unacked entry a Python worker holds for an ETA task', () => {
    const doc = load<{ python_result: { held_while_waiting: { unacked: { value: Record<string, string> } } } }>('worker/09_eta_task_held_unacked.json');
    const [tag, value] = Object.entries(doc.python_result.held_while_waiting.unacked.value)[0]!;
    const entry = parseUnackedEntry(value);
    expect(entry.routingKey).toBe('celery');
    const d = decodeEnvelope(JSON.stringify(entry.envelope));
    expect(d.deliveryTag).toBe(tag);
    expect(d.message.headers.eta).toEqual(expect.any(String));
  });

  it('uses the body as is when body_encoding is absent', () => {
    const text = JSON.stringify({ body: '[[1], {}, {}]', 'content-type': 'application/json', 'content-encoding': 'utf-8', headers: { task: 't' }, properties: { delivery_info: { exchange: '', routing_key: 'q' }, delivery_tag: 'x' } });
    const d = decodeEnvelope(text);
    expect(d.message.body.toString('utf8')).toBe('[[1], {}, {}]');
    expect(d.priority).toBe(0);
    expect(d.message.properties).toEqual({});
  });

  it.each([
    ['not JSON', '{"body": '],
    ['an array', '[1, 2]'],
    ['no properties', '{"body": "", "headers": {}}'],
    ['no delivery_info', '{"body": "", "headers": {}, "properties": {"delivery_tag": "t"}}'],
    ['no delivery_tag', '{"body": "", "headers": {}, "properties": {"delivery_info": {"exchange": "", "routing_key": "q"}}}'],
    ['a non-string body', '{"body": 1, "headers": {}, "properties": {"delivery_tag": "t", "delivery_info": {"exchange": "", "routing_key": "q"}}}'],
    ['headers not an object', '{"body": "", "headers": [], "properties": {"delivery_tag": "t", "delivery_info": {"exchange": "", "routing_key": "q"}}}'],
    ['an unknown body_encoding', '{"body": "", "headers": {}, "properties": {"body_encoding": "rot13", "delivery_tag": "t", "delivery_info": {"exchange": "", "routing_key": "q"}}}'],
  ])('throws DecodeError for %s', (_what, text) => {
    expect(() => decodeEnvelope(text)).toThrow(DecodeError);
  });

  it('throws DecodeError for a malformed unacked entry', () => {
    expect(() => parseUnackedEntry('[{}, "", ')).toThrow(DecodeError);
    expect(() => parseUnackedEntry('[{}, ""]')).toThrow(DecodeError);
  });

  it('escapes exchange and routing key in the unacked entry', () => {
    const value = unackedEntry('{"a": 1}', 'ex"\\', 'k\u00e9');
    expect(JSON.parse(value)).toEqual([{ a: 1 }, 'ex"\\', 'k\u00e9']);
  });
});

describe('Kombu Redis keys', () => {
  it('names priority lists with the 0x06 0x16 separator and steps 0, 3, 6, 9', () => {
    expect(SEP).toBe('\x06\x16');
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((p) => queueListName('celery', p))).toEqual([
      'celery', 'celery', 'celery', 'celery\x06\x163', 'celery\x06\x163', 'celery\x06\x163', 'celery\x06\x166', 'celery\x06\x166', 'celery\x06\x166', 'celery\x06\x169',
    ]);
  });

  it('orders consume keys like the BRPOP a Python worker sends', () => {
    const doc = load<{ distinct_brpop_commands: string[][] }>('misc/brpop_two_queues.json');
    const brpop = doc.distinct_brpop_commands[0]!;
    expect(new KombuKeys().consumeOrder(['celery', 'other'])).toEqual(brpop.slice(1, -1));
    expect(brpop[brpop.length - 1]).toBe('1');
  });

  it('applies the global key prefix to every key and channel', () => {
    const keys = new KombuKeys('pfx:');
    expect(keys.unacked).toBe('pfx:unacked');
    expect(keys.unackedIndex).toBe('pfx:unacked_index');
    expect(keys.unackedMutex).toBe('pfx:unacked_mutex');
    expect(keys.queueList('q', 7)).toBe('pfx:q\x06\x166');
    expect(keys.queueLists('q')).toEqual(['pfx:q', 'pfx:q\x06\x163', 'pfx:q\x06\x166', 'pfx:q\x06\x169']);
    expect(keys.binding('celery')).toBe('pfx:_kombu.binding.celery');
    expect(keys.fanoutChannel(3, 'celery.pidbox')).toBe('pfx:/3.celery.pidbox');
    const plain = new KombuKeys();
    expect(plain.fanoutChannel(3, 'celeryev', 'worker.heartbeat')).toBe('/3.celeryev/worker.heartbeat');
    expect(plain.fanoutChannel(0, 'celery.pidbox')).toBe('/0.celery.pidbox');
  });

  it('names fanout channels and subscribe patterns as the Python worker in the vectors does', () => {
    const doc = load<{ redis_commands: RedisCommand[] }>('worker/00_worker_startup.json');
    const cmds = (name: string): string[] => doc.redis_commands.filter((c) => c.cmd[0] === name).map((c) => c.cmd[1]!);
    const keys = new KombuKeys();
    // PSUBSCRIBE of the worker's gossip queue (celeryev bound with worker.#) and of its pidbox queue (key '')
    expect(cmds('PSUBSCRIBE').sort()).toEqual([keys.fanoutPattern(3, 'celery.pidbox', ''), keys.fanoutPattern(3, 'celeryev', 'worker.#')].sort());
    expect(keys.fanoutPattern(3, 'celeryev', 'worker.#')).toBe('/3.celeryev/worker.*');
    expect(keys.fanoutPattern(3, 'celeryev', '#')).toBe('/3.celeryev/*');
    // PUBLISH channels: events with their routing key, control with the empty one
    expect(cmds('PUBLISH')).toEqual(expect.arrayContaining([keys.fanoutChannel(3, 'celeryev', 'worker.online'), keys.fanoutChannel(3, 'celery.pidbox', '')]));
    expect(cmds('SADD')).toContain('_kombu.binding.celeryev');
    const member = doc.redis_commands.find((c) => c.cmd[0] === 'SADD' && c.cmd[1] === '_kombu.binding.celeryev')!.cmd[2]!;
    expect(member).toBe(bindingMember('worker.#', '', member.split(SEP)[2]!));
    expect(new KombuKeys('pfx:').fanoutPattern(0, 'celeryev', 'worker.#')).toBe('pfx:/0.celeryev/worker.*');
  });

  it('names the dead-letter list (ours) under the key prefix and writes its entries as JSON', () => {
    expect(DEAD_LETTER_KEY).toBe('celeriac.dead_letter');
    expect(new KombuKeys('pfx:').deadLetter).toBe('pfx:celeriac.dead_letter');
    const entry = deadLetterEntry('why', 'pfx:q', 'not "json"', 1_700_000_000_123);
    expect(JSON.parse(entry)).toEqual({ reason: 'why', list: 'pfx:q', time: 1_700_000_000.123, payload: 'not "json"' });
  });

  it('writes binding members as Kombu does', () => {
    expect(bindingMember('celery', '', 'celery')).toBe('celery\x06\x16\x06\x16celery');
    expect(bindingMember('', '', 'worker1@wirehost.celery.pidbox')).toBe('\x06\x16\x06\x16worker1@wirehost.celery.pidbox');
    expect(parseBindingMember('worker.#\x06\x16\x06\x16celeryev.2cf3')).toEqual({ routingKey: 'worker.#', pattern: '', queue: 'celeryev.2cf3' });
    expect(parseBindingMember('garbage')).toBeUndefined();
  });

  it('builds topic patterns exactly as Kombu does and matches them', () => {
    // expected values printed by kombu 5.2.4 TopicExchange.key_to_pattern
    expect(topicKeyToPattern('worker.#')).toBe('^worker\\..*?$');
    expect(topicKeyToPattern('*.pidbox')).toBe('^.*?[^\\.]\\.pidbox$');
    expect(topicKeyToPattern('a-b.c_d')).toBe('^a\\-b\\.c\\_d$');
    expect(topicKeyToPattern('task.*.x')).toBe('^task\\..*?[^\\.]\\.x$');
    const bindings = [
      { routingKey: 'worker.#', pattern: topicKeyToPattern('worker.#'), queue: 'events' },
      { routingKey: 'task.*', pattern: topicKeyToPattern('task.*'), queue: 'tasks' },
      { routingKey: 'exact', pattern: '', queue: 'direct' },
      { routingKey: 'exact', pattern: '', queue: 'direct' },
    ];
    expect(matchBindings(bindings, 'worker.heartbeat')).toEqual(['events']);
    expect(matchBindings(bindings, 'task.sent')).toEqual(['tasks']);
    expect(matchBindings(bindings, 'exact')).toEqual(['direct']);
    expect(matchBindings(bindings, 'other')).toEqual([]);
  });
});
