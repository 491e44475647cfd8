/**
 * Malformed and hostile task messages for the fault tests (issue 4, test 3), interleaved with valid
 * ones, and how to tell from a worker's log which category a reason line is about. Broker-neutral:
 * each test file turns a {@link Planned} into what its broker carries (a Kombu envelope LPUSHed on
 * Redis, an amqplib publish on RabbitMQ); `bad-json` and `bad-base64` are built there, as they are
 * about the transport's own encoding.
 *
 * Ids: `h-<category>-<n>` for hostile messages (none when the id itself is the hostile part), so
 * every reason line the worker logs with an id is matched to the message it is about.
 */
import { randomUUID } from 'node:crypto';
import { createTaskMessage, encodeTaskMessage } from '../../src/protocol/message-v2';
import type { WireMessage } from '../../src/protocol/wire-message';
import type { LogLine } from './fault-worker';

export const HOSTILE_CATEGORIES = ['bad-json', 'bad-base64', 'wrong-shape', 'unknown-task', 'content-type', 'header-types', 'eta-9999', 'huge'] as const;
export type HostileCategory = (typeof HOSTILE_CATEGORIES)[number];

/** The size of a `huge` message's argument: each is processed (there is no size limit, as in Celery). */
export const HUGE_BYTES = 20 * 1024 * 1024;
export const ETA_9999 = '9999-12-31T23:59:59.000000+00:00';

export interface Planned {
  kind: 'valid' | HostileCategory;
  /** The task id, when the message has one of string type (a Redis `bad-json` value has none at all). */
  id: string | null;
  /** The n-th of its kind. */
  n: number;
}

/**
 * `hostile` hostile messages (`huge` of them huge, the rest spread evenly over the other categories)
 * and `valid` valid ones, interleaved round-robin.
 */
export function hostilePlan(hostile: number, valid: number, huge: number): Planned[] {
  const others = HOSTILE_CATEGORIES.filter((c) => c !== 'huge');
  const queues: Planned[][] = [];
  const perCategory = new Map<HostileCategory, number>([['huge', huge]]);
  const rest = hostile - huge;
  others.forEach((c, i) => perCategory.set(c, Math.floor(rest / others.length) + (i < rest % others.length ? 1 : 0)));
  for (const [c, count] of perCategory) queues.push(Array.from({ length: count }, (_, n) => ({ kind: c, n, id: hostileId(c, n) })));
  queues.push(Array.from({ length: valid }, (_, n) => ({ kind: 'valid' as const, n, id: randomUUID() })));
  const out: Planned[] = [];
  for (let round = 0; out.length < hostile + valid; round++) {
    for (const q of queues) if (round < q.length) out.push(q[round]!);
  }
  return out;
}

/** `header-types` variants 0 and 3 carry no string id (the id itself is wrong). */
function hostileId(category: HostileCategory, n: number): string | null {
  if (category === 'header-types' && (n % 4 === 0 || n % 4 === 3)) return null;
  return `h-${category}-${n}`;
}

/** A valid protocol-2 message for `task` (Celery's layout: headers, [args, kwargs, embed] JSON body). */
export function taskWire(id: string, task: string, args: unknown[]): WireMessage {
  return encodeTaskMessage(createTaskMessage({ id, task, args }));
}

/**
 * The wire message of a planned message, for every kind but the transport-level `bad-json` and
 * `bad-base64`. Valid ones are `fault.work` with no work (0 ms).
 */
export function plannedWire(p: Planned): WireMessage {
  const id = p.id ?? randomUUID();
  switch (p.kind) {
    case 'valid':
      return taskWire(id, 'fault.work', [0]);
    case 'wrong-shape': {
      const bodies = [{ args: [1] }, [1, 2, 3], ['not', 'a list'], 'a string', [[], []].slice(0, 1)];
      return { ...taskWire(id, 'fault.work', [0]), body: Buffer.from(JSON.stringify(bodies[p.n % bodies.length])) };
    }
    case 'unknown-task':
      return taskWire(id, `fault.no_such_task_${p.n % 7}`, [0]);
    case 'content-type': {
      const types = ['application/x-python-serialize', 'application/x-yaml', 'text/plain', ''];
      return { ...taskWire(id, 'fault.work', [0]), contentType: types[p.n % types.length]! };
    }
    case 'header-types': {
      const wire = taskWire(id, 'fault.work', [0]);
      const bad: Record<string, unknown>[] = [{ id: 12345 }, { eta: 1_700_000_000 }, { expires: { at: 'never' } }, { id: ['h', 'x'] }];
      return { ...wire, headers: { ...wire.headers, ...bad[p.n % bad.length] } };
    }
    case 'eta-9999': {
      const wire = taskWire(id, 'fault.work', [0]);
      return { ...wire, headers: { ...wire.headers, eta: ETA_9999 } };
    }
    case 'huge':
      return taskWire(id, 'fault.size', ['x'.repeat(HUGE_BYTES)]);
    case 'bad-json':
    case 'bad-base64':
      throw new Error(`${p.kind} is built by the broker's test`);
  }
}

/** The hostile category a worker log line gives a reason for, or undefined. */
export function reasonCategory(line: LogLine): HostileCategory | undefined {
  const fromId = typeof line.id === 'string' && line.id.startsWith('h-') ? (HOSTILE_CATEGORIES.find((c) => line.id!.startsWith(`h-${c}-`)) ?? undefined) : undefined;
  if (line.msg.startsWith('Rejecting invalid message')) return fromId ?? 'header-types'; // only header-types lack a string id here
  if (line.msg.startsWith('Received unregistered task')) return fromId;
  return undefined;
}
