/**
 * A periodic task's fields from untrusted JSON: create (name, task and schedule required) or edit (any
 * subset). Every problem is reported at once, by field, as the form shows them next to its inputs.
 */
import type { ScheduleInput } from '../schedules/schedule-input';
import { validationError } from './admin-error';
import { asNumber, isPlainObject, validateSchedule, type FieldErrors } from './schedule-validation';

/** Validated fields, typed as stored (times as Dates). */
export interface TaskFields {
  name: string;
  task: string;
  schedule: ScheduleInput;
  args: unknown[];
  kwargs: Record<string, unknown>;
  queue: string | null;
  exchange: string | null;
  routingKey: string | null;
  priority: number | null;
  headers: Record<string, unknown>;
  expires: Date | null;
  expireSeconds: number | null;
  oneOff: boolean;
  startTime: Date | null;
  enabled: boolean;
  skipIfRunning: boolean;
  description: string;
}

/** What decides whether a task name may be used. */
export interface TaskNameCheck {
  isAllowed(name: string): boolean;
  /** How to allow more names, appended to the error. */
  hint: string;
}

const FIELDS: ReadonlySet<string> = new Set([
  'name', 'task', 'schedule', 'args', 'kwargs', 'queue', 'exchange', 'routingKey', 'priority', 'headers',
  'expires', 'expireSeconds', 'oneOff', 'startTime', 'enabled', 'skipIfRunning', 'description',
]);
/** MySQL's TEXT holds 65,535 bytes. */
const MAX_TEXT_BYTES = 65_535;
const MAX_NAME = 200;

/** JSON may come parsed or as the text a user typed in a textarea. */
function jsonValue(raw: unknown, field: string, errors: FieldErrors): unknown {
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    errors[field] = `${field} is not valid JSON: ${(err as Error).message}`;
    return undefined;
  }
}

function jsonField<T>(raw: unknown, field: string, errors: FieldErrors, want: 'array' | 'object'): T | undefined {
  const value = jsonValue(raw, field, errors);
  if (errors[field]) return undefined;
  const ok = want === 'array' ? Array.isArray(value) : isPlainObject(value);
  if (!ok) {
    errors[field] = want === 'array' ? `${field} must be a JSON array, e.g. [1, "a"].` : `${field} must be a JSON object, e.g. {"key": "value"}.`;
    return undefined;
  }
  if (Buffer.byteLength(JSON.stringify(value), 'utf8') > MAX_TEXT_BYTES) {
    errors[field] = `${field} is larger than ${MAX_TEXT_BYTES} bytes as JSON.`;
    return undefined;
  }
  return value as T;
}

function optionalText(raw: unknown, field: string, errors: FieldErrors): string | null | undefined {
  if (raw === null || raw === '') return null;
  if (typeof raw !== 'string' || raw.trim().length > MAX_NAME) {
    errors[field] = `${field} must be text of at most ${MAX_NAME} characters, or null.`;
    return undefined;
  }
  return raw.trim() || null;
}

function optionalTime(raw: unknown, field: string, errors: FieldErrors): Date | null | undefined {
  if (raw === null || raw === '') return null;
  const date = typeof raw === 'string' && /^\d{4}-\d\d-\d\dT.*(Z|[+-]\d\d:?\d\d)$/i.test(raw.trim()) ? new Date(raw) : null;
  if (!date || Number.isNaN(date.getTime())) {
    errors[field] = `${field} must be an ISO 8601 time with an offset, e.g. "2030-01-01T00:00:00Z", or null.`;
    return undefined;
  }
  return date;
}

function optionalInteger(raw: unknown, field: string, errors: FieldErrors, min: number, max: number): number | null | undefined {
  if (raw === null || raw === '') return null;
  const n = asNumber(raw);
  if (n === undefined || !Number.isInteger(n) || n < min || n > max) {
    errors[field] = `${field} must be a whole number from ${min} to ${max}, or null.`;
    return undefined;
  }
  return n;
}

function boolean(raw: unknown, field: string, errors: FieldErrors): boolean | undefined {
  if (typeof raw === 'boolean') return raw;
  errors[field] = `${field} must be true or false.`;
  return undefined;
}

function requiredName(raw: unknown, field: 'name' | 'task', errors: FieldErrors): string | undefined {
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (!text) errors[field] = `${field} is required.`;
  else if (text.length > MAX_NAME) errors[field] = `${field} must be at most ${MAX_NAME} characters.`;
  return errors[field] ? undefined : text;
}

/**
 * The fields of a create (`partial` false: name, task, schedule required) or an edit (`partial` true).
 * Throws a 400 AdminError whose `fields` holds every problem.
 */
export function validateTaskInput(body: unknown, options: { partial: boolean; tasks: TaskNameCheck }): Partial<TaskFields> {
  if (!isPlainObject(body)) throw validationError({ body: 'The body must be a JSON object of periodic task fields.' });
  const errors: FieldErrors = {};
  const out: Partial<TaskFields> = {};
  for (const key of Object.keys(body)) if (!FIELDS.has(key)) errors[key] = `Unknown field "${key}".`;
  const has = (key: keyof TaskFields): boolean => body[key] !== undefined || !options.partial;
  const set = <K extends keyof TaskFields>(key: K, value: TaskFields[K] | undefined): void => {
    if (value !== undefined && !errors[key]) out[key] = value;
  };

  if (has('name')) set('name', requiredName(body.name, 'name', errors));
  if (has('task')) {
    const task = requiredName(body.task, 'task', errors);
    if (task !== undefined && !options.tasks.isAllowed(task)) errors.task = `Task "${task}" is not registered on this app. ${options.tasks.hint}`;
    set('task', task);
  }
  if (has('schedule')) set('schedule', validateSchedule(body.schedule, errors));
  if (body.args !== undefined) set('args', jsonField<unknown[]>(body.args, 'args', errors, 'array'));
  if (body.kwargs !== undefined) set('kwargs', jsonField<Record<string, unknown>>(body.kwargs, 'kwargs', errors, 'object'));
  if (body.headers !== undefined) set('headers', jsonField<Record<string, unknown>>(body.headers, 'headers', errors, 'object'));
  for (const key of ['queue', 'exchange', 'routingKey'] as const) if (body[key] !== undefined) set(key, optionalText(body[key], key, errors));
  if (body.priority !== undefined) set('priority', optionalInteger(body.priority, 'priority', errors, 0, 255));
  if (body.expireSeconds !== undefined) set('expireSeconds', optionalInteger(body.expireSeconds, 'expireSeconds', errors, 1, 2_147_483_647));
  for (const key of ['expires', 'startTime'] as const) if (body[key] !== undefined) set(key, optionalTime(body[key], key, errors));
  for (const key of ['oneOff', 'enabled', 'skipIfRunning'] as const) if (body[key] !== undefined) set(key, boolean(body[key], key, errors));
  if (body.description !== undefined) {
    if (typeof body.description !== 'string' || Buffer.byteLength(body.description, 'utf8') > MAX_TEXT_BYTES) errors.description = `description must be text of at most ${MAX_TEXT_BYTES} bytes.`;
    else set('description', body.description);
  }
  if (Object.keys(errors).length) throw validationError(errors);
  return out;
}
