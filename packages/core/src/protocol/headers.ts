/** Task header names of Celery protocol 2 (celery/app/amqp.py `as_task_v2`), in the order Celery sends them. */
export const TASK_HEADERS = [
  'lang',
  'task',
  'id',
  'shadow',
  'eta',
  'expires',
  'group',
  'group_index',
  'retries',
  'timelimit',
  'root_id',
  'parent_id',
  'argsrepr',
  'kwargsrepr',
  'origin',
  'ignore_result',
] as const;

/** Headers we read but do not model; passed through when a task is re-sent (Celery >= 5.3). */
export const PASSTHROUGH_HEADERS = ['replaced_task_nesting', 'stamped_headers', 'stamps'] as const;

/** Header naming the compression content type of the body (kombu/compression.py). */
export const COMPRESSION_HEADER = 'compression';

/** What we put in `lang`: Python sends "py"; the Python worker ignores it. */
export const LANG = 'js';
