/**
 * Result documents, as the Redis backend stores them under `celery-task-meta-<id>`
 * (celery/backends/base.py `_get_result_meta`): keys in Python's order, date_done naive UTC.
 */
import { DecodeError } from '../errors';
import type { TaskState } from '../result/states';
import { formatNaiveUtc } from './dates';

export interface ResultMeta {
  taskId: string;
  status: TaskState;
  /** The return value; for RETRY/FAILURE/REVOKED the exception dict; for custom states their meta. */
  result: unknown;
  traceback: string | null;
  children: unknown[] | null;
  /** Naive UTC ISO string (Python's `utcnow().isoformat()`), null for unready states. */
  dateDone: string | null;
  groupId?: string;
  parentId?: string;
  /** result_extended fields. */
  name?: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  worker?: string;
  retries?: number;
  queue?: string;
  /** Not stored: where an rpc:// backend sends the state (the task message's reply_to / correlation_id). */
  replyTo?: string | null;
  correlationId?: string;
}

/** The document to store, in Python's key order. */
export function encodeResultMeta(meta: ResultMeta): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    status: meta.status,
    result: meta.result,
    traceback: meta.traceback,
    children: meta.children,
    date_done: meta.dateDone,
  };
  if (meta.groupId) doc.group_id = meta.groupId;
  if (meta.parentId) doc.parent_id = meta.parentId;
  if (meta.name !== undefined) {
    // Python writes None for a missing extended field; JSON.stringify would drop an undefined key.
    doc.name = meta.name;
    doc.args = meta.args ?? null;
    doc.kwargs = meta.kwargs ?? null;
    doc.worker = meta.worker ?? null;
    doc.retries = meta.retries ?? null;
    doc.queue = meta.queue ?? null;
  }
  doc.task_id = meta.taskId;
  return doc;
}

/** Parses a stored document; `taskId` fills in documents that lack `task_id`. */
export function decodeResultMeta(doc: unknown, taskId: string): ResultMeta {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new DecodeError(`Result of ${taskId} is not an object.`);
  const d = doc as Record<string, unknown>;
  if (typeof d.status !== 'string') throw new DecodeError(`Result of ${taskId} has no status.`);
  const meta: ResultMeta = {
    taskId: typeof d.task_id === 'string' ? d.task_id : taskId,
    status: d.status,
    result: d.result ?? null,
    traceback: typeof d.traceback === 'string' ? d.traceback : null,
    children: Array.isArray(d.children) ? d.children : null,
    dateDone: typeof d.date_done === 'string' ? d.date_done : null,
  };
  if (typeof d.group_id === 'string') meta.groupId = d.group_id;
  if (typeof d.parent_id === 'string') meta.parentId = d.parent_id;
  if (typeof d.name === 'string') {
    meta.name = d.name;
    meta.args = Array.isArray(d.args) ? d.args : [];
    meta.kwargs = (d.kwargs as Record<string, unknown>) ?? {};
    if (typeof d.worker === 'string') meta.worker = d.worker;
    if (typeof d.retries === 'number') meta.retries = d.retries;
    if (typeof d.queue === 'string') meta.queue = d.queue;
  }
  return meta;
}

/** Now as date_done. */
export function dateDoneNow(): string {
  return formatNaiveUtc(new Date());
}
