/**
 * Replays every task message in the Celery 5.2.6 capture vectors (../shared/protocol/vectors) through
 * decodeTaskMessage and checks each field against what Python put on the wire.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isSafeNumber, parse as losslessParse } from 'lossless-json';
import { decodeTaskMessage, type TaskMessage } from '../../src/protocol/message-v2';
import { TASK_HEADERS } from '../../src/protocol/headers';
import type { WireMessage } from '../../src/protocol/wire-message';

const VECTORS = path.resolve(__dirname, '../../../../../shared/protocol/vectors');
const ACCEPT = ['json', 'msgpack'];

if (!existsSync(VECTORS)) {
  throw new Error(`Celery wire vectors not found at ${VECTORS}: these tests replay /work/shared/protocol/vectors (see its README.md).`);
}

/** Reads a vector file keeping integers beyond 2^53 exact (as BigInt), so expectations are not rounded. */
function readVector(file: string): Record<string, unknown> {
  const text = readFileSync(file, 'utf8');
  return losslessParse(text, null, (v: string) => (isSafeNumber(v) ? Number(v) : /^-?\d+$/.test(v) ? BigInt(v) : Number(v))) as Record<string, unknown>;
}

function jsonFiles(dir: string): string[] {
  const full = path.join(VECTORS, dir);
  if (!existsSync(full)) throw new Error(`Vector directory ${full} is missing.`);
  return readdirSync(full)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => path.join(full, f));
}

type Dict = Record<string, unknown>;

/** One task message found in a capture, with what Python meant by it. */
interface Captured {
  /** e.g. "redis/publish/12_options_shadow_timelimit_headers #1" */
  label: string;
  file: string;
  transport: 'redis' | 'amqp';
  wire: WireMessage;
  headers: Dict;
  properties: Dict;
  /** The body as the capture script decoded it in Python (args, kwargs, embed) or a protocol 1 object. */
  body: unknown;
  /** Capture time (s since epoch), AMQP only. */
  ts?: number;
}

const isTaskMessage = (headers: Dict, body: unknown): boolean =>
  typeof headers.task === 'string' || (!!body && typeof body === 'object' && !Array.isArray(body) && typeof (body as Dict).task === 'string' && typeof (body as Dict).id === 'string');

function fromRedis(file: string): Captured[] {
  const vector = readVector(file);
  const out: Captured[] = [];
  for (const entry of (vector.redis_commands ?? []) as Dict[]) {
    const cmd = entry.cmd as string[];
    if (cmd[0] !== 'LPUSH' && cmd[0] !== 'RPUSH') continue;
    const decoded = entry.decoded as Dict | undefined;
    if (!decoded?.envelope) continue;
    const envelope = JSON.parse(cmd[2]!) as Dict;
    const headers = (envelope.headers ?? {}) as Dict;
    const body = decoded.body_decoded;
    if (!isTaskMessage(headers, body)) continue; // pidbox replies, events
    const props = envelope.properties as Dict;
    const raw = envelope.body as string;
    const wire: WireMessage = {
      headers,
      properties: {
        correlationId: props.correlation_id as string | undefined,
        replyTo: props.reply_to as string | undefined,
        deliveryMode: props.delivery_mode as number | undefined,
        priority: props.priority as number | undefined,
        expiration: props.expiration as string | undefined,
      },
      contentType: envelope['content-type'] as string,
      contentEncoding: envelope['content-encoding'] as string,
      body: props.body_encoding === 'base64' ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8'),
    };
    out.push({ label: '', file, transport: 'redis', wire, headers, properties: props, body });
  }
  return out;
}

function fromAmqp(file: string, methods: readonly string[]): Captured[] {
  const vector = readVector(file);
  const out: Captured[] = [];
  for (const frame of (vector.amqp_frames ?? []) as Dict[]) {
    if (frame.kind !== 'message' || !methods.includes(frame.method as string)) continue;
    const props = frame.properties as Dict;
    const headers = (props.headers ?? {}) as Dict;
    const body = frame.body_decoded;
    if (!isTaskMessage(headers, body)) continue; // events, control replies
    const wire: WireMessage = {
      headers,
      properties: {
        correlationId: props.correlation_id as string | undefined,
        replyTo: props.reply_to as string | undefined,
        deliveryMode: props.delivery_mode as number | undefined,
        priority: props.priority as number | undefined,
        expiration: props.expiration as string | undefined,
      },
      contentType: props.content_type as string,
      contentEncoding: props.content_encoding as string,
      body: Buffer.from(frame.body_hex as string, 'hex'),
    };
    out.push({ label: '', file, transport: 'amqp', wire, headers, properties: props, body, ts: frame.ts as number });
  }
  return out;
}

function labelled(list: Captured[]): Captured[] {
  const counts = new Map<string, number>();
  for (const c of list) {
    const base = path.relative(VECTORS, c.file).replace(/\.json$/, '');
    const n = (counts.get(base) ?? 0) + 1;
    counts.set(base, n);
    c.label = `${base} #${n}`;
  }
  return list;
}

/** Milliseconds since the epoch (fractional) of a Python isoformat() string: naive or +00:00, 6 digits or none. */
function pythonIsoToMs(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{6}))?(?:\+00:00)?$/.exec(text);
  if (!m) throw new Error(`Unexpected date form in a vector: ${text}`);
  const [, y, mo, d, h, mi, s, us] = m;
  return Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!) + (us ? +us / 1000 : 0);
}

const PUBLISH = labelled([...jsonFiles('redis/publish').flatMap(fromRedis), ...jsonFiles('amqp/publish').flatMap((f) => fromAmqp(f, ['basic.publish']))]);
const DELIVERED = labelled(jsonFiles('amqp/publish').flatMap((f) => fromAmqp(f, ['basic.get-ok'])));
const WORKER = labelled([
  ...jsonFiles('redis/worker').flatMap(fromRedis),
  ...jsonFiles('redis/worker_extended').flatMap(fromRedis),
  ...jsonFiles('amqp/worker').flatMap((f) => fromAmqp(f, ['basic.publish'])),
]);

const decoded = new Map<Captured, TaskMessage>();
function decode(c: Captured): TaskMessage {
  let msg = decoded.get(c);
  if (!msg) {
    msg = decodeTaskMessage(c.wire, ACCEPT);
    decoded.set(c, msg);
  }
  return msg;
}

/** The generic check: every field equals what Python sent. */
function expectMatchesWire(c: Captured): void {
  const msg = decode(c);
  const h = c.headers;
  const p = c.properties;
  if (typeof h.task !== 'string') {
    // protocol 1: everything in the body object
    const b = c.body as Dict;
    expect(msg.protocol).toBe(1);
    expect(msg.id).toBe(b.id);
    expect(msg.task).toBe(b.task);
    expect(msg.args).toEqual(b.args);
    expect(msg.kwargs).toEqual(b.kwargs);
    expect(msg.retries).toBe(b.retries);
    expect(msg.timeLimit).toEqual(b.timelimit);
    expect(msg.rootId).toBe(b.id);
    expect(msg.parentId).toBeNull();
    return;
  }
  const [args, kwargs, embed] = c.body as [unknown[], Dict, Dict];
  expect(msg.protocol).toBe(2);
  expect(msg.id).toBe(h.id);
  expect(msg.task).toBe(h.task);
  expect(msg.args).toEqual(args);
  expect(msg.kwargs).toEqual(kwargs);
  expect(msg.embed).toEqual(embed);
  expect(msg.shadow).toBe(h.shadow);
  for (const field of ['eta', 'expires'] as const) {
    const text = h[field];
    if (text === null) expect(msg[field]).toBeNull();
    else expect(Math.abs(msg[field]!.getTime() - pythonIsoToMs(text as string))).toBeLessThanOrEqual(0.5);
  }
  expect(msg.group).toBe(h.group);
  expect(msg.groupIndex).toBe(h.group_index);
  expect(msg.retries).toBe(h.retries);
  expect(msg.timeLimit).toEqual(h.timelimit);
  expect(msg.rootId).toBe(h.root_id);
  expect(msg.parentId).toBe(h.parent_id);
  expect(msg.argsrepr).toBe(h.argsrepr);
  expect(msg.kwargsrepr).toBe(h.kwargsrepr);
  expect(msg.origin).toBe(h.origin);
  expect(msg.ignoreResult).toBe(h.ignore_result);
  const custom = Object.fromEntries(Object.entries(h).filter(([k]) => !(TASK_HEADERS as readonly string[]).includes(k)));
  expect(msg.customHeaders).toEqual(custom);
  expect(msg.correlationId).toBe(p.correlation_id);
  expect(msg.replyTo).toBe(p.reply_to);
  expect(msg.priority).toBe(p.priority ?? 0);
  expect(msg.deliveryMode).toBe(p.delivery_mode);
}

function find(label: string, list: Captured[] = PUBLISH): Captured[] {
  const found = list.filter((c) => c.label.startsWith(label));
  if (!found.length) throw new Error(`No task message captured in ${label}: the vectors changed?`);
  return found;
}
const both = (name: string): Captured[] => [...find(`redis/publish/${name}`), ...find(`amqp/publish/${name}`)];

describe('Celery 5.2.6 vectors: every published task message decodes to what Python sent', () => {
  it('finds the task messages of every publish capture', () => {
    const files = new Set(PUBLISH.map((c) => path.basename(c.file)));
    for (const f of [...jsonFiles('redis/publish'), ...jsonFiles('amqp/publish')]) expect(files).toContain(path.basename(f));
    expect(PUBLISH.length).toBeGreaterThanOrEqual(45);
  });

  it.each(PUBLISH.map((c) => [c.label, c] as const))('%s', (_label, c) => {
    expectMatchesWire(c);
  });

  it.each(DELIVERED.map((c) => [c.label, c] as const))('%s (basic.get-ok, as RabbitMQ delivers it)', (_label, c) => {
    expectMatchesWire(c);
  });
});

describe('Celery 5.2.6 vectors: per-case meaning', () => {
  it('02_countdown: eta is 30 s after the publish', () => {
    for (const c of both('02_countdown')) expect(decode(c).eta).toBeInstanceOf(Date);
    for (const c of find('amqp/publish/02_countdown')) expect(decode(c).eta!.getTime() - c.ts! * 1000).toBeCloseTo(30_000, -3);
  });

  it('03_eta_aware_utc: eta is datetime(2030,1,2,3,4,5,678901, utc)', () => {
    for (const c of both('03_eta_aware_utc')) expect(decode(c).eta!.getTime()).toBe(Date.UTC(2030, 0, 2, 3, 4, 5, 679));
  });

  it('04_eta_naive: a naive eta is read as UTC', () => {
    for (const c of both('04_eta_naive')) {
      expect(c.headers.eta).toBe('2030-01-02T03:04:05');
      expect(decode(c).eta!.getTime()).toBe(Date.UTC(2030, 0, 2, 3, 4, 5));
    }
  });

  it('05_expires_seconds / 06_expires_datetime: expires is 60 s / 1 h after the publish; expiration is carried', () => {
    for (const c of both('05_expires_seconds')) expect(decode(c).expires).toBeInstanceOf(Date);
    for (const c of find('amqp/publish/05_expires_seconds')) {
      expect(c.wire.properties.expiration).toBe('60000');
      expect(decode(c).expires!.getTime() - c.ts! * 1000).toBeCloseTo(60_000, -3);
    }
    for (const c of find('amqp/publish/06_expires_datetime')) expect(decode(c).expires!.getTime() - c.ts! * 1000).toBeCloseTo(3_600_000, -3);
  });

  it.each([0, 3, 7, 9])('07_priority_%i: priority property', (n) => {
    for (const c of both(`07_priority_${n}`)) expect(decode(c).priority).toBe(n);
  });

  it('08_chain: the rest of the chain travels in embed.chain, next step last', () => {
    for (const c of both('08_chain')) {
      const { embed, args } = decode(c);
      expect(args).toEqual([1, 2]);
      expect(embed.chain!.map((s) => [s.task, s.args])).toEqual([
        ['tasks.mul', [10]],
        ['tasks.add', [3]],
      ]);
      expect(typeof embed.chain![0]!.options.task_id).toBe('string');
      expect(embed.callbacks).toBeNull();
      expect(embed.chord).toBeNull();
    }
  });

  it('09_group: members share the group id; group_index is null for a plain group', () => {
    for (const transport of ['redis', 'amqp']) {
      const members = find(`${transport}/publish/09_group`).map(decode);
      expect(members).toHaveLength(2);
      expect(members[0]!.group).toEqual(expect.any(String));
      expect(members[1]!.group).toBe(members[0]!.group);
      expect(members.map((m) => m.groupIndex)).toEqual([null, null]);
      expect(members.map((m) => m.args)).toEqual([
        [1, 1],
        [2, 2],
      ]);
    }
  });

  it('10_chord: header members carry group_index 0, 1 and the body in embed.chord', () => {
    const members = find('redis/publish/10_chord').map(decode);
    expect(members.map((m) => m.groupIndex)).toEqual([0, 1]);
    expect(members[1]!.group).toBe(members[0]!.group);
    for (const m of members) {
      expect(m.embed.chord).toMatchObject({ task: 'tasks.xsum', args: [], kwargs: {}, subtask_type: null, immutable: false });
    }
  });

  it('11_link_and_link_error: embed.callbacks and embed.errbacks', () => {
    for (const c of both('11_link_and_link_error')) {
      const { embed } = decode(c);
      expect(embed.callbacks).toEqual([{ task: 'tasks.mul', args: [3], kwargs: {}, options: {}, subtask_type: null, immutable: false }]);
      expect(embed.errbacks).toEqual([{ task: 'tasks.errback_old', args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false }]);
    }
  });

  it('12_options: shadow, timelimit [hard, soft] = [30, 20], custom header, fixed id', () => {
    for (const c of both('12_options_shadow_timelimit_headers')) {
      const m = decode(c);
      expect(m.id).toBe('11111111-2222-3333-4444-555555555555');
      expect(m.rootId).toBe('11111111-2222-3333-4444-555555555555');
      expect(m.shadow).toBe('custom.display.name');
      expect(m.timeLimit).toEqual([30, 20]);
      expect(m.customHeaders).toEqual({ 'x-custom': 'v' });
    }
  });

  it('13_unicode_kwargs: non-ASCII text and 2**53+1 exact as BigInt', () => {
    for (const c of both('13_unicode_kwargs')) {
      const m = decode(c);
      expect(m.args).toEqual(['h\u00e9llo', '\u65e5\u672c', 1.5, null, true]);
      expect(m.kwargs.k).toBe('\u00df');
      expect(m.kwargs.big).toBe(9007199254740993n);
      expect(typeof m.kwargs.big).toBe('bigint');
    }
  });

  it('15_ignore_result: ignore_result true', () => {
    for (const c of both('15_ignore_result')) expect(decode(c).ignoreResult).toBe(true);
  });

  it('17_protocol_v1: the legacy body format decodes with protocol 1', () => {
    for (const c of both('17_protocol_v1')) {
      const m = decode(c);
      expect(m.protocol).toBe(1);
      expect(m.task).toBe('tasks.add');
      expect(m.args).toEqual([2, 3]);
      expect(m.kwargs).toEqual({});
      expect(m.id).toBe(c.properties.correlation_id);
      expect(m.embed).toEqual({ callbacks: null, errbacks: null, chain: null, chord: null });
      expect(m.eta).toBeNull();
      expect(m.timeLimit).toEqual([null, null]);
    }
  });

  it('18_msgpack: a msgpack body decodes', () => {
    for (const c of both('18_msgpack')) {
      expect(c.wire.contentType).toBe('application/x-msgpack');
      const m = decode(c);
      expect(m.args).toEqual([2, 3]);
      expect(m.embed).toEqual({ callbacks: null, errbacks: null, chain: null, chord: null });
    }
  });

  it('18_msgpack: refused when msgpack is not accepted', () => {
    for (const c of both('18_msgpack')) expect(() => decodeTaskMessage(c.wire, ['json'])).toThrow(/Refusing to decode content type "application\/x-msgpack"/);
  });

  it('19_kwargs_only: no args, kwargs only', () => {
    for (const c of both('19_kwargs_only_and_empty')) {
      expect(decode(c).args).toEqual([]);
      expect(decode(c).kwargs).toEqual({ x: 1, y: 2 });
    }
  });

  it('21_link_to_group: a complex (group) signature in callbacks', () => {
    for (const c of both('21_link_to_group')) {
      const cb = decode(c).embed.callbacks![0]!;
      expect(cb.task).toBe('celery.group');
      expect(cb.subtask_type).toBe('group');
      expect((cb.kwargs.tasks as Array<{ args: unknown[] }>).map((t) => t.args)).toEqual([[2], [3]]);
    }
  });

  it('22_chain_with_group_in_middle: a chord signature in embed.chain', () => {
    for (const c of find('redis/publish/22_chain_with_group_in_middle')) {
      const step = decode(c).embed.chain![0]!;
      expect(step.subtask_type).toBe('chord');
      expect(step.task).toBe('celery.chord');
    }
  });
});

describe('Celery 5.2.6 vectors: task messages sent by clients and by the Python worker', () => {
  it('finds them', () => {
    expect(WORKER.length).toBeGreaterThanOrEqual(30);
  });

  it.each(WORKER.map((c) => [c.label, c] as const))('%s', (_label, c) => {
    expectMatchesWire(c);
  });

  it('04_retry: the re-published task keeps its id with retries 1, parent_id = itself, and an eta', () => {
    for (const transport of ['redis', 'amqp']) {
      const retried = find(`${transport}/worker/04_retry`, WORKER)
        .map(decode)
        .filter((m) => m.retries === 1);
      expect(retried).toHaveLength(1);
      const m = retried[0]!;
      expect(m.parentId).toBe(m.id);
      expect(m.rootId).toBe(m.id);
      expect(m.eta).toBeInstanceOf(Date);
    }
  });

  it('07_chain: each step sent by the worker has the previous step as parent and the first as root', () => {
    const steps = find('redis/worker/07_chain', WORKER).map(decode);
    expect(steps).toHaveLength(3);
    expect(steps[1]!.parentId).toBe(steps[0]!.id);
    expect(steps[2]!.parentId).toBe(steps[1]!.id);
    expect(steps.map((s) => s.rootId)).toEqual([steps[0]!.id, steps[0]!.id, steps[0]!.id]);
    // The last step is sent with an empty chain list.
    expect(steps[2]!.embed.chain).toEqual([]);
  });
});
