import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ContentDisallowedError, DecodeError, EncodeError } from '../../src/errors';
import { TASK_HEADERS } from '../../src/protocol/headers';
import { createTaskMessage, decodeTaskMessage, EMPTY_EMBED, encodeTaskMessage, type TaskMessage } from '../../src/protocol/message-v2';
import { parseJson } from '../../src/protocol/serializers';
import type { WireMessage } from '../../src/protocol/wire-message';

const PYTHON = '/usr/bin/python3';
const VECTORS = path.resolve(__dirname, '../../../../../shared/protocol/vectors');
const ID = '87befc1e-39f6-436b-b83a-73f71504dec4';

function full(overrides: Partial<TaskMessage> = {}): TaskMessage {
  return createTaskMessage({
    id: ID,
    task: 'tasks.add',
    args: [2, 3],
    kwargs: { big: 2n ** 53n + 1n, s: 'h\u00e9llo' },
    embed: {
      callbacks: [{ task: 'tasks.mul', args: [3], kwargs: {}, options: {}, subtask_type: null, immutable: false }],
      errbacks: null,
      chain: [{ task: 'tasks.mul', args: [10], kwargs: {}, options: { task_id: 'next' }, subtask_type: null, immutable: false }],
      chord: null,
    },
    shadow: 'display.name',
    eta: new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 678)),
    expires: new Date(Date.UTC(2030, 0, 3, 0, 0, 0, 0)),
    group: 'g-1',
    groupIndex: 1,
    retries: 2,
    timeLimit: [30, 20],
    rootId: 'root-1',
    parentId: 'parent-1',
    origin: 'gen1@host',
    ignoreResult: true,
    customHeaders: { 'x-custom': 'v', stamps: { a: ['b'] } },
    replyTo: 'reply-oid',
    priority: 7,
    ...overrides,
  });
}

describe('createTaskMessage', () => {
  it('fills Celery defaults: root_id = id, correlation id = id, [null, null] limits, reprs', () => {
    const m = createTaskMessage({ id: ID, task: 'tasks.add', args: [2, 3] });
    expect(m).toMatchObject({
      id: ID,
      task: 'tasks.add',
      args: [2, 3],
      kwargs: {},
      embed: EMPTY_EMBED,
      rootId: ID,
      parentId: null,
      correlationId: ID,
      timeLimit: [null, null],
      retries: 0,
      argsrepr: '(2, 3)',
      kwargsrepr: '{}',
      deliveryMode: 2,
      priority: 0,
      protocol: 2,
    });
  });

  it('does not share the embed object between messages', () => {
    const a = createTaskMessage({ id: 'a', task: 't' });
    a.embed.chain = [];
    expect(createTaskMessage({ id: 'b', task: 't' }).embed.chain).toBeNull();
  });
});

describe('encodeTaskMessage', () => {
  it('lays the headers out in Celery 5.2.6 order (compare redis/publish/01_add_delay)', () => {
    const wire = encodeTaskMessage(createTaskMessage({ id: ID, task: 'tasks.add', args: [2, 3], origin: 'gen20657@vm' }));
    expect(Object.keys(wire.headers)).toEqual([...TASK_HEADERS]);
    const vector = path.join(VECTORS, 'redis/publish/01_add_delay.json');
    if (!existsSync(vector)) throw new Error(`Vector ${vector} is missing.`);
    const lpush = (JSON.parse(readFileSync(vector, 'utf8')) as { redis_commands: Array<{ cmd: string[] }> }).redis_commands.find((c) => c.cmd[0] === 'LPUSH')!;
    const envelope = JSON.parse(lpush.cmd[2]!) as { headers: Record<string, unknown>; body: string };
    expect(Object.keys(wire.headers)).toEqual(Object.keys(envelope.headers));
    const py = { ...envelope.headers, id: ID, root_id: ID, lang: 'js' };
    expect(wire.headers).toEqual(py);
    // Same body value as Python's bytes (Python adds spaces after separators; both parse the same).
    expect(JSON.parse(wire.body.toString('utf8'))).toEqual(JSON.parse(Buffer.from(envelope.body, 'base64').toString('utf8')));
  });

  it('always sends the three-element body with the full embed (a two-element body kills Python workers)', () => {
    const wire = encodeTaskMessage(createTaskMessage({ id: ID, task: 't' }));
    expect(wire.body.toString('utf8')).toBe('[[],{},{"callbacks":null,"errbacks":null,"chain":null,"chord":null}]');
    expect(wire.contentType).toBe('application/json');
    expect(wire.contentEncoding).toBe('utf-8');
  });

  it('writes eta/expires with 6 fraction digits and +00:00, and expiration in ms', () => {
    const now = Date.now();
    const wire = encodeTaskMessage(full({ expires: new Date(now + 60_000) }));
    expect(wire.headers.eta).toBe('2030-01-02T03:04:05.678000+00:00');
    expect(wire.headers.expires).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);
    expect(Number(wire.properties.expiration)).toBeGreaterThan(59_000);
    expect(Number(wire.properties.expiration)).toBeLessThanOrEqual(60_000);
    expect(wire.properties.expiration).toMatch(/^\d+$/);
  });

  it('writes expiration 0 when expires is already past, and none without expires', () => {
    expect(encodeTaskMessage(full({ expires: new Date(Date.now() - 5000) })).properties.expiration).toBe('0');
    expect(encodeTaskMessage(full({ expires: null })).properties).not.toHaveProperty('expiration');
  });

  it('sets properties: correlation id, reply_to, delivery mode, priority', () => {
    const wire = encodeTaskMessage(full());
    expect(wire.properties).toMatchObject({ correlationId: ID, replyTo: 'reply-oid', deliveryMode: 2, priority: 7 });
    expect(encodeTaskMessage(createTaskMessage({ id: ID, task: 't' })).properties).not.toHaveProperty('replyTo');
  });

  it('merges custom headers at the top level without letting them replace protocol headers', () => {
    const wire = encodeTaskMessage(full({ customHeaders: { 'x-custom': 'v', retries: 99, id: 'evil' } }));
    expect(wire.headers['x-custom']).toBe('v');
    expect(wire.headers.retries).toBe(2);
    expect(wire.headers.id).toBe(ID);
  });

  it('writes timelimit as [hard, soft]', () => {
    expect(encodeTaskMessage(full({ timeLimit: [30, 20] })).headers.timelimit).toEqual([30, 20]);
  });

  it('encodes BigInt kwargs exactly', () => {
    expect(encodeTaskMessage(full()).body.toString('utf8')).toContain('"big":9007199254740993');
  });

  it('rejects args that are not an array and unknown serializers', () => {
    expect(() => encodeTaskMessage(full({ args: 'x' as unknown as unknown[] }))).toThrow(EncodeError);
    expect(() => encodeTaskMessage(full(), { serializer: 'pickle' })).toThrow(EncodeError);
  });
});

describe('decodeTaskMessage', () => {
  it.each([
    ['json', undefined],
    ['msgpack', undefined],
    ['json', 'gzip'],
    ['msgpack', 'brotli'],
  ] as const)('round-trips every field (%s, compression %s)', (serializer, compression) => {
    const original = full();
    const back = decodeTaskMessage(encodeTaskMessage(original, { serializer, compression }), ['json', 'msgpack']);
    expect(back).toEqual(original);
  });

  it('accepts the minimal headers a Python worker needs (task, id) and fills in defaults', () => {
    const m = decodeTaskMessage({ headers: { task: 'tasks.add', id: ID }, properties: {}, contentType: 'application/json', contentEncoding: 'utf-8', body: Buffer.from('[[1], {}, {}]') }, ['json']);
    expect(m).toMatchObject({ id: ID, task: 'tasks.add', args: [1], kwargs: {}, rootId: ID, parentId: null, correlationId: ID, replyTo: null, retries: 0, priority: 0, deliveryMode: 2, timeLimit: [null, null], argsrepr: '(1,)', kwargsrepr: '{}' });
    expect(m.embed).toEqual(EMPTY_EMBED);
  });

  it('tolerates a body without the embed element', () => {
    const m = decodeTaskMessage({ headers: { task: 't', id: ID }, properties: {}, contentType: 'application/json', contentEncoding: 'utf-8', body: Buffer.from('[[1], {"a": 2}]') }, ['json']);
    expect(m.args).toEqual([1]);
    expect(m.kwargs).toEqual({ a: 2 });
    expect(m.embed).toEqual(EMPTY_EMBED);
  });

  it('reads Python NaN and big ints in args', () => {
    const m = decodeTaskMessage({ headers: { task: 't', id: ID }, properties: {}, contentType: 'application/json', contentEncoding: 'utf-8', body: Buffer.from('[[NaN, 9007199254740993, "NaN"], {}, {}]') }, ['json']);
    expect(m.args[0]).toBeNaN();
    expect(m.args.slice(1)).toEqual([9007199254740993n, 'NaN']);
  });

  it('keeps unknown headers (custom, Celery 5.3 stamps) in customHeaders', () => {
    const m = decodeTaskMessage(
      { headers: { task: 't', id: ID, 'x-a': 1, replaced_task_nesting: 0, stamped_headers: ['s'], stamps: { s: 'v' } }, properties: {}, contentType: 'application/json', contentEncoding: 'utf-8', body: Buffer.from('[[], {}, {}]') },
      ['json'],
    );
    expect(m.customHeaders).toEqual({ 'x-a': 1, replaced_task_nesting: 0, stamped_headers: ['s'], stamps: { s: 'v' } });
  });

  const wire = (headers: Record<string, unknown>, body: string, contentType = 'application/json'): WireMessage => ({
    headers,
    properties: {},
    contentType,
    contentEncoding: 'utf-8',
    body: Buffer.from(body),
  });

  it.each([
    ['args not a list', { task: 't', id: ID }, '[{}, {}, {}]', /args must be a list/],
    ['kwargs not an object', { task: 't', id: ID }, '[[], [], {}]', /kwargs must be an object/],
    ['body not a list', { task: 't', id: ID }, '{"a": 1}', /\[args, kwargs, embed\]/],
    ['one-element body', { task: 't', id: ID }, '[[]]', /\[args, kwargs, embed\]/],
    ['no id', { task: 't' }, '[[], {}, {}]', /"id"/],
    ['empty id', { task: 't', id: '' }, '[[], {}, {}]', /"id"/],
    ['bad eta', { task: 't', id: ID, eta: 'soon' }, '[[], {}, {}]', /Invalid eta "soon"/],
    ['eta not a string', { task: 't', id: ID, eta: 5 }, '[[], {}, {}]', /"eta" must be an ISO-8601 string/],
    ['bad expires', { task: 't', id: ID, expires: '2030-13-01T00:00:00' }, '[[], {}, {}]', /Invalid expires/],
    ['embed not an object', { task: 't', id: ID }, '[[], {}, []]', /embed/],
    ['callbacks not a list', { task: 't', id: ID }, '[[], {}, {"callbacks": {}}]', /embed.callbacks/],
    ['not JSON', { task: 't', id: ID }, '[[], {', /Invalid JSON/],
    ['no task header and not a v1 body', {}, '[[], {}, {}]', /protocol 1/],
  ])('rejects a message with %s (DecodeError)', (_name, headers, body, message) => {
    const decode = (): TaskMessage => decodeTaskMessage(wire(headers, body), ['json']);
    expect(decode).toThrow(DecodeError);
    expect(decode).toThrow(message);
  });

  it('refuses content types outside accept (pickle never)', () => {
    expect(() => decodeTaskMessage(wire({ task: 't', id: ID }, 'x', 'application/x-python-serialize'), ['json', 'msgpack'])).toThrow(ContentDisallowedError);
  });

  it('decodes a protocol 1 body', () => {
    const m = decodeTaskMessage(
      wire({}, JSON.stringify({ task: 'tasks.add', id: ID, args: [2, 3], kwargs: { a: 1 }, group: null, retries: 1, eta: '2030-01-02T03:04:05+00:00', expires: null, utc: true, callbacks: null, errbacks: null, timelimit: [30, 20], taskset: 'g-1', chord: null })),
      ['json'],
    );
    expect(m).toMatchObject({ protocol: 1, id: ID, task: 'tasks.add', args: [2, 3], kwargs: { a: 1 }, retries: 1, group: 'g-1', timeLimit: [30, 20], rootId: ID });
    expect(m.eta!.getTime()).toBe(Date.UTC(2030, 0, 2, 3, 4, 5));
  });
});

describe('a Python 5.2.6 worker reads our messages (celery.worker.request.Request, run by /usr/bin/python3)', () => {
  const script = `
import json, sys
from celery import Celery
from kombu.message import Message
from celery.worker.request import Request
app = Celery('t', broker='memory://')
@app.task(name='tasks.add')
def add(*a, **k): pass
out = []
for w in json.load(sys.stdin):
    m = Message(body=bytes.fromhex(w['body']), headers=w['headers'], content_type=w['contentType'],
                content_encoding=w['contentEncoding'], properties=w['properties'],
                delivery_info={'exchange': '', 'routing_key': 'celery'}, channel=None)
    m.accept = ['application/json', 'application/x-msgpack']
    r = Request(m, app=app, task=add)
    out.append({'id': r.id, 'name': r.name, 'args': repr(r.args), 'kwargs': repr(r.kwargs),
                'eta': r.eta.isoformat() if r.eta else None, 'expires': r.expires.isoformat() if r.expires else None,
                'time_limits': r.time_limits, 'root_id': r.root_id, 'parent_id': r.parent_id,
                'group': r.group, 'group_index': r.group_index, 'retries': r.request_dict['retries'],
                'ignore_result': r.ignore_result, 'correlation_id': r.correlation_id, 'reply_to': r.reply_to,
                'shadow': r.request_dict.get('shadow'), 'x-custom': r.request_dict.get('x-custom'),
                'chain': [s['task'] for s in (r._payload[2].get('chain') or [])], 'callbacks': [s['task'] for s in (r._payload[2].get('callbacks') or [])]})
print(json.dumps(out))
`;

  it('sees the same id, args, kwargs, eta, expires, [hard, soft] limits and workflow ids', () => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: this check needs python3-celery.`);
    const variants = [{}, { serializer: 'msgpack' }, { compression: 'gzip' }] as const;
    const wires = variants.map((opts) => encodeTaskMessage(full(), opts));
    const input = wires.map((w) => ({
      headers: w.headers,
      properties: { correlation_id: w.properties.correlationId, reply_to: w.properties.replyTo, delivery_mode: w.properties.deliveryMode, priority: w.properties.priority },
      contentType: w.contentType,
      contentEncoding: w.contentEncoding,
      body: w.body.toString('hex'),
    }));
    const py = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8' });
    if (py.status !== 0) throw new Error(`python3 failed: ${py.stderr}`);
    const seen = parseJson(py.stdout) as unknown[];
    const expected = {
      id: ID,
      name: 'display.name', // Request.name is the shadow name when one is set
      args: '[2, 3]',
      kwargs: "{'big': 9007199254740993, 's': 'h\u00e9llo'}",
      eta: '2030-01-02T03:04:05.678000+00:00',
      expires: '2030-01-03T00:00:00+00:00',
      time_limits: [30, 20],
      root_id: 'root-1',
      parent_id: 'parent-1',
      group: 'g-1',
      group_index: 1,
      retries: 2,
      ignore_result: true,
      correlation_id: ID,
      reply_to: 'reply-oid',
      shadow: 'display.name',
      'x-custom': 'v',
      chain: ['tasks.mul'],
      callbacks: ['tasks.mul'],
    };
    expect(seen).toEqual([expected, expected, expected]);
  });
});
