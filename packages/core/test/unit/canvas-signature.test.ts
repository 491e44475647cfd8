/**
 * Signatures without a worker: partial application, options, Celery's dict form (checked against
 * the signatures Celery 5.2.6 put in the captured messages), and the exact messages chain, group and
 * chord send (captured from the memory broker before any worker runs them).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Celeriac, Chain, Chord, ChunksSignature, ConfigError, Group, MapSignature, MemoryBroker, MemoryKeyValueStore, Signature, chain, chord, group, signatureFromDict, type SignatureDict, type TaskMessage, decodeTaskMessage } from '../../src';
import { memoryApp } from '../helpers/memory-app';

const VECTORS = path.resolve(__dirname, '../../../../../shared/protocol/vectors/redis/publish');

/** The decoded bodies of the task messages a publish vector captured. */
function capturedBodies(file: string): Array<[unknown[], Record<string, unknown>, Record<string, unknown>]> {
  const doc = JSON.parse(readFileSync(path.join(VECTORS, file), 'utf8')) as { redis_commands: Array<{ decoded?: { body_decoded: [unknown[], Record<string, unknown>, Record<string, unknown>] } }> };
  return doc.redis_commands.filter((c) => c.decoded).map((c) => c.decoded!.body_decoded);
}

const makeApp = memoryApp;

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

describe('signatures', () => {
  const app = makeApp();
  const add = app.task('t.add', async (x: number, y: number) => x + y);
  afterAll(() => app.close());

  it('s() holds the arguments; calling prepends partial args and merges kwargs', () => {
    const s = add.s(2);
    expect(s.toDict()).toEqual({ task: 't.add', args: [2], kwargs: {}, options: {}, subtask_type: null, immutable: false });
    const merged = s.merge([8], { extra: 1 }, {});
    expect(merged.args).toEqual([8, 2]);
    expect(merged.kwargs).toEqual({ extra: 1 });
  });

  it('si() is immutable: partial args and kwargs are ignored', () => {
    const s = add.si(1, 2);
    expect(s.immutable).toBe(true);
    expect(s.merge([99], { k: 1 }, {}).args).toEqual([1, 2]);
    expect(s.merge([99], { k: 1 }, {}).kwargs).toEqual({});
  });

  it('set() writes options in Celery names; clone() copies deeply with partial args', () => {
    const s = add.s(1).set({ queue: 'q1', countdown: 5, priority: 3, taskId: 'abc', linkError: add.s(0), eta: new Date('2030-01-02T03:04:05.678Z') });
    expect(s.options).toEqual({
      queue: 'q1',
      countdown: 5,
      priority: 3,
      task_id: 'abc',
      link_error: [{ task: 't.add', args: [0], kwargs: {}, options: {}, subtask_type: null, immutable: false }],
      eta: '2030-01-02T03:04:05.678000+00:00',
    });
    const c = s.clone([7], { z: 1 }, { queue: 'q2' });
    expect(c.args).toEqual([7, 1]);
    expect(c.options.queue).toBe('q2');
    expect(s.options.queue).toBe('q1');
    (c.options.link_error as SignatureDict[])[0]!.args.push(5);
    expect((s.options.link_error as SignatureDict[])[0]!.args).toEqual([0]);
  });

  it('signature() takes kwargs and options; app.signature() names a task it does not have', () => {
    const s = add.signature([1], { kwargs: { y: 2 }, queue: 'math' });
    expect(s.toDict()).toMatchObject({ args: [1], kwargs: { y: 2 }, options: { queue: 'math' } });
    const py = app.signature<[number, number], number>('proj.tasks.mul', [2, 3], { priority: 9 });
    expect(py.toDict()).toEqual({ task: 'proj.tasks.mul', args: [2, 3], kwargs: {}, options: { priority: 9 }, subtask_type: null, immutable: false });
  });

  it('link() and onError() append to lists and return the linked signature', () => {
    const s = add.s(1, 1);
    const cb = add.s(10);
    expect(s.link(cb)).toBe(cb);
    s.link(add.s(20));
    s.onError(add.si(0, 0));
    expect((s.options.link as SignatureDict[]).map((d) => d.args)).toEqual([[10], [20]]);
    expect((s.options.link_error as SignatureDict[])[0]!.immutable).toBe(true);
  });

  it('freeze() assigns an id once and returns its result handle', () => {
    const s = add.s(1, 2);
    const r = s.freeze();
    expect(s.id).toBe(r.id);
    expect(s.freeze().id).toBe(r.id);
    expect(add.s(1, 2).freeze('fixed').id).toBe('fixed');
  });

  it('an unbound signature says how to bind it', async () => {
    const s = new Signature({ task: 'x.y' });
    await expect(s.delay()).rejects.toThrow(ConfigError);
    await expect(s.delay()).rejects.toThrow(/bind\(app\)/);
  });

  it('map, starmap and chunks have Celery dict forms', () => {
    expect(add.map([1, 2]).toDict()).toMatchObject({ task: 'celery.map', subtask_type: 'xmap', kwargs: { task: { task: 't.add' }, it: [1, 2] } });
    expect(add.starmap([[1, 2]]).toDict()).toMatchObject({ task: 'celery.starmap', subtask_type: 'xstarmap', kwargs: { it: [[1, 2]] } });
    const ch = add.chunks([[1, 1], [2, 2], [3, 3]], 2);
    expect(ch.toDict()).toMatchObject({ task: 'celery.chunks', subtask_type: 'chunks', kwargs: { n: 2 } });
    expect(ch.group().tasks.map((t) => (t.kwargs.it as unknown[]).length)).toEqual([2, 1]);
    expect(() => add.chunks([[1, 1]], 0)).toThrow(/n >= 1/);
  });
});

describe("Celery's dict form round-trips", () => {
  it.each([
    ['08_chain.json', 'chain'],
    ['11_link_and_link_error.json', 'callbacks'],
    ['11_link_and_link_error.json', 'errbacks'],
    ['21_link_to_group.json', 'callbacks'],
    ['22_chain_with_group_in_middle.json', 'chain'],
    ['10_chord.json', 'chord'],
  ])('%s embed.%s becomes our signatures and back unchanged', (file, field) => {
    for (const [,, embed] of capturedBodies(file)) {
      const value = embed[field];
      if (!value) continue;
      const dicts = (Array.isArray(value) ? value : [value]) as SignatureDict[];
      for (const d of dicts) expect(signatureFromDict(d).toDict()).toEqual(d);
    }
  });

  it('builds the right kinds from a Python chord-in-chain', () => {
    const [[,, embed]] = capturedBodies('22_chain_with_group_in_middle.json') as [[unknown[], unknown, { chain: SignatureDict[] }]];
    const sig = signatureFromDict(embed.chain[0]!);
    expect(sig).toBeInstanceOf(Chord);
    const c = sig as Chord;
    expect(c.header).toBeInstanceOf(Group);
    expect(c.header.tasks.map((t) => t.task)).toEqual(['tasks.mul', 'tasks.mul']);
    expect(c.body.task).toBe('tasks.xsum');
  });

  it('rejects what is not a signature with a clear error', () => {
    expect(() => signatureFromDict({ nope: 1 } as unknown as SignatureDict)).toThrow(/Not a signature/);
    expect(() => signatureFromDict({ task: 'x', subtask_type: 'weird', args: [], kwargs: {}, options: {}, immutable: false })).toThrow(/unknown subtask_type "weird"/);
  });
});

describe('what chain, group and chord send', () => {
  let app: Celeriac;
  let sent: TaskMessage[];
  beforeEach(async () => {
    app = makeApp();
    sent = [];
    await app.connect();
    await app.declareQueue('celery', 'celery', 'celery');
    await app.broker.consume(['celery'], async (d) => {
      sent.push(decodeTaskMessage(d.message, ['json']));
      await d.ack();
    }, { prefetch: 1000 });
  });
  afterEach(() => app.close());
  const until = async (n: number): Promise<void> => {
    for (let i = 0; i < 200 && sent.length < n; i++) await new Promise((r) => setTimeout(r, 5));
    expect(sent.length).toBe(n);
  };

  function defs() {
    return {
      add: app.task('tasks.add', async (x: number, y: number) => x + y),
      mul: app.task('tasks.mul', async (x: number, y: number) => x * y),
      xsum: app.task('tasks.xsum', async (v: number[]) => v.reduce((a, b) => a + b, 0)),
    };
  }

  it('a chain sends its first task with the rest reversed in embed.chain, ids pre-assigned (as 08_chain)', async () => {
    const { add, mul } = defs();
    const r = await chain(add.s(1, 2), add.s(3), mul.s(10)).applyAsync();
    await until(1);
    const [m] = sent as [TaskMessage];
    expect(m.task).toBe('tasks.add');
    expect(m.args).toEqual([1, 2]);
    expect(m.rootId).toBe(m.id);
    expect(m.embed.chain!.map((s) => [s.task, s.args])).toEqual([
      ['tasks.mul', [10]],
      ['tasks.add', [3]],
    ]);
    expect(m.embed.chain![0]!.options.task_id).toBe(r.id);
    expect(m.embed.chain![1]!.options.task_id).toBe(r.parent!.id);
    expect(r.parent!.parent!.id).toBe(m.id);
  });

  it('nested chains flatten', async () => {
    const { add, mul } = defs();
    const c = chain(chain(add.s(1, 2), add.s(3)), chain(mul.s(2), mul.s(5)));
    expect(c.tasks.map((t) => t.task)).toEqual(['tasks.add', 'tasks.add', 'tasks.mul', 'tasks.mul']);
    await c.applyAsync();
    await until(1);
    expect(sent[0]!.embed.chain).toHaveLength(3);
  });

  it('the fluent pipe() adds steps, and a chain is never mistaken for a promise', async () => {
    const { add, mul } = defs();
    const c = chain(add.s(1, 2)).pipe(mul.s(3)).pipe(add.s(4));
    expect(c).toBeInstanceOf(Chain);
    expect(c.tasks.map((t) => t.args)).toEqual([[1, 2], [3], [4]]);
    const fromSig = add.s(1, 1).pipe(mul.s(5));
    expect(fromSig).toBeInstanceOf(Chain);
    expect((fromSig as Chain).tasks).toHaveLength(2);
    // Awaiting a signature gives the signature back (it has no then()).
    await expect(Promise.resolve(c)).resolves.toBe(c);
  });

  it('a group followed by a step in a chain becomes a chord in embed.chain (as 22_chain_with_group_in_middle)', async () => {
    const { add, mul, xsum } = defs();
    const c = chain(add.s(1, 1), group(mul.s(2), mul.s(3)), xsum.s());
    expect(c.tasks[1]).toBeInstanceOf(Chord);
    await c.applyAsync();
    await until(1);
    const next = sent[0]!.embed.chain![0]!;
    expect(next.subtask_type).toBe('chord');
    expect(next.task).toBe('celery.chord');
    const kwargs = next.kwargs as { header: SignatureDict; body: SignatureDict };
    expect(kwargs.header.subtask_type).toBe('group');
    expect(kwargs.body.task).toBe('tasks.xsum');
  });

  it('group members carry the group id, no group_index (as 09_group)', async () => {
    const { add } = defs();
    const r = await group([add.s(1, 1), add.s(2, 2)]).applyAsync();
    await until(2);
    expect(sent.map((m) => m.group)).toEqual([r.id, r.id]);
    expect(sent.map((m) => m.groupIndex)).toEqual([null, null]);
    expect(sent.map((m) => m.id)).toEqual(r.results.map((x) => x.id));
  });

  it('chord header tasks carry group, group_index and the body in embed.chord; the size is stored first (as 10_chord)', async () => {
    const { add, xsum } = defs();
    const r = await chord([add.s(1, 1), add.s(2, 2)], xsum.s()).applyAsync();
    await until(2);
    const gid = sent[0]!.group!;
    expect(sent.map((m) => m.groupIndex)).toEqual([0, 1]);
    expect(sent.map((m) => m.embed.chord?.task)).toEqual(['tasks.xsum', 'tasks.xsum']);
    expect(sent[0]!.embed.chord!.options.task_id).toBe(r.id);
    const size = await new MemoryKeyValueStore((app.conf.resultBackend as string).slice('memory://'.length)).get(`celery-taskset-meta-${gid}.s`);
    expect(size?.toString()).toBe('2');
  });

  it('link and linkError on applyAsync become embed callbacks/errbacks', async () => {
    const { add, mul } = defs();
    await add.applyAsync([2, 2], { link: [mul.s(3), mul.s(4)], linkError: add.si(0, 0) });
    await until(1);
    expect(sent[0]!.embed.callbacks!.map((s) => s.args)).toEqual([[3], [4]]);
    expect(sent[0]!.embed.errbacks![0]!.immutable).toBe(true);
  });

  it('map, starmap and chunks send celery.map / celery.starmap messages', async () => {
    const { add } = defs();
    await add.starmap([[1, 2]]).delay();
    await add.chunks([[1, 1], [2, 2], [3, 3]], 2).applyAsync();
    await until(3);
    expect(sent.map((m) => m.task)).toEqual(['celery.starmap', 'celery.starmap', 'celery.starmap']);
    expect(sent[0]!.kwargs).toMatchObject({ task: { task: 'tasks.add' }, it: [[1, 2]] });
  });

  it('classes are what the factories make', () => {
    const { add } = defs();
    expect(add.map([1])).toBeInstanceOf(MapSignature);
    expect(add.chunks([[1, 1]], 1)).toBeInstanceOf(ChunksSignature);
  });
});
