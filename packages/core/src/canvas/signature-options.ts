/**
 * Signature options travel in Celery's snake_case dict form (`options` of a signature); users set
 * them in camelCase. These two functions translate, keeping keys we do not model untouched.
 */
import { formatWireDate, parseWireDate } from '../protocol/dates';
import type { SignatureDict, TaskEmbed } from '../protocol/message-v2';
import type { ApplyOptions } from '../task/task-options';

/** Options as they sit in a signature dict (`task_id`, `routing_key`, `link`, `chord`...). */
export type WireOptions = Record<string, unknown>;

/** Anything with Celery's dict form: a Signature (toDict) or a dict already. */
export interface HasDict {
  toDict(): SignatureDict;
}

/** camelCase option -> snake_case key; options not listed keep their name. */
const TO_WIRE: Record<string, string> = {
  taskId: 'task_id',
  routingKey: 'routing_key',
  ignoreResult: 'ignore_result',
  timeLimit: 'time_limit',
  softTimeLimit: 'soft_time_limit',
  retryPolicy: 'retry_policy',
  parentId: 'parent_id',
  rootId: 'root_id',
  groupId: 'group_id',
  groupIndex: 'group_index',
  linkError: 'link_error',
};
const FROM_WIRE: Record<string, string> = Object.fromEntries(Object.entries(TO_WIRE).map(([k, v]) => [v, k]));

const dictOf = (s: unknown): unknown => (s && typeof (s as HasDict).toDict === 'function' ? (s as HasDict).toDict() : s);
const dictList = (v: unknown): SignatureDict[] => (Array.isArray(v) ? v : [v]).map(dictOf) as SignatureDict[];

/** Options given in camelCase (a Signature's `.set()`, a call's options) -> the dict form. */
export function toWireOptions(options: Partial<ApplyOptions> & Record<string, unknown>): WireOptions {
  const out: WireOptions = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || key === 'kwargs') continue;
    const wireKey = TO_WIRE[key] ?? key;
    if (key === 'link' || key === 'linkError') out[wireKey] = dictList(value);
    else if (value instanceof Date) out[wireKey] = formatWireDate(value);
    else out[wireKey] = value;
  }
  return out;
}

/** What a plain signature's options become when it is sent: call options plus the message's embed. */
export interface SendOptions {
  apply: ApplyOptions;
  embed: Partial<TaskEmbed>;
}

const date = (v: unknown, field: string): Date | undefined => (typeof v === 'string' ? parseWireDate(v, field) : v instanceof Date ? v : undefined);

/** The dict form -> call options + embed (link/link_error/chain/chord). Unknown keys are ignored. */
export function fromWireOptions(options: WireOptions): SendOptions {
  const apply: Record<string, unknown> = {};
  const embed: Partial<TaskEmbed> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || value === null) continue;
    switch (key) {
      case 'link':
        embed.callbacks = dictList(value);
        break;
      case 'link_error':
        embed.errbacks = dictList(value);
        break;
      case 'chain':
        embed.chain = dictList(value);
        break;
      case 'chord':
        embed.chord = dictOf(value) as SignatureDict;
        break;
      case 'eta':
        apply.eta = date(value, 'eta');
        break;
      case 'expires':
        apply.expires = typeof value === 'number' ? value : date(value, 'expires');
        break;
      case 'reply_to':
      case 'replaced_task_nesting':
      case 'add_to_parent':
      case 'route_name':
        break;
      default:
        apply[FROM_WIRE[key] ?? key] = value;
    }
  }
  return { apply: apply, embed };
}
