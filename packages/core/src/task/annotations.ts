/**
 * Task annotations (Celery's task_annotations): options set from the app's settings over the options
 * a task was defined with, e.g. a rate limit for every task of a package without touching its code.
 *
 * Forms: a map `{ 'tasks.add': {...}, 'billing.*': {...}, '*': {...} }`, a function
 * `(taskName) => options | null`, an object with `annotate(taskName)`, or a list of those.
 * Precedence, per option: list entries in order, the first that sets an option wins; inside one map
 * the exact name beats globs (in key order), which beat '*'. (Celery applies '*' after an exact match,
 * so there '*' wins; here the most specific entry wins, which is what a map reads like.)
 * Only options that change how a worker runs a task are annotatable: call-side options (queue,
 * priority, serializer) belong to taskRoutes and the call.
 */
import { ConfigError } from '../errors';
import { nearest } from '../util/levenshtein';
import { parseRateLimit } from '../worker/rate-limit';
import type { TaskOptions } from './task-options';

/** The task options an annotation may set. */
export type AnnotationOptions = Partial<
  Pick<
    TaskOptions,
    | 'rateLimit'
    | 'globalRateLimit'
    | 'acksLate'
    | 'rejectOnWorkerLost'
    | 'timeLimit'
    | 'softTimeLimit'
    | 'maxRetries'
    | 'defaultRetryDelay'
    | 'retryBackoff'
    | 'retryBackoffMax'
    | 'retryJitter'
    | 'ignoreResult'
    | 'trackStarted'
  >
>;

/** Returns the options to set for a task name, or null/undefined for none. */
export type AnnotationFunction = (taskName: string) => AnnotationOptions | null | undefined;
/** One annotation: a map by exact name, glob or '*'; a function; or an object with annotate(). */
export type TaskAnnotation = Readonly<Record<string, AnnotationOptions>> | AnnotationFunction | { annotate: AnnotationFunction };
/** The taskAnnotations setting. */
export type TaskAnnotations = TaskAnnotation | readonly TaskAnnotation[];

type Check = (value: unknown) => string | null;
const bool: Check = (v) => (typeof v === 'boolean' ? null : 'true or false');
const seconds: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? null : 'a number of seconds >= 0');
const rate: Check = (v) => {
  try {
    parseRateLimit(v);
    return null;
  } catch {
    return "a rate like '10/s', '100/m', '1000/h' (or a number per second)";
  }
};

const CHECKS: { readonly [K in keyof Required<AnnotationOptions>]: Check } = {
  rateLimit: rate,
  globalRateLimit: rate,
  acksLate: bool,
  rejectOnWorkerLost: bool,
  timeLimit: seconds,
  softTimeLimit: seconds,
  maxRetries: (v) => (v === null || (typeof v === 'number' && Number.isInteger(v) && v >= 0) ? null : 'an integer >= 0, or null (retry forever)'),
  defaultRetryDelay: seconds,
  retryBackoff: (v) => (typeof v === 'boolean' || (typeof v === 'number' && v >= 0) ? null : 'true, false or a factor in seconds'),
  retryBackoffMax: seconds,
  retryJitter: bool,
  ignoreResult: bool,
  trackStarted: bool,
};

/** The option names an annotation may set. */
export const ANNOTATABLE_OPTIONS = Object.keys(CHECKS) as ReadonlyArray<keyof AnnotationOptions>;

/** Throws a ConfigError naming the key (and the nearest valid one) or the value that is wrong. */
export function checkAnnotationOptions(options: unknown, where: string): AnnotationOptions {
  if (!options || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigError('taskAnnotations', `${where} must be an object of task options, e.g. { "rateLimit": "10/s" }, got ${JSON.stringify(options)}.`);
  }
  for (const [key, value] of Object.entries(options)) {
    const check = (CHECKS as Record<string, Check | undefined>)[key];
    if (!check) {
      const near = nearest(key, ANNOTATABLE_OPTIONS);
      throw new ConfigError('taskAnnotations', `${where}: "${key}" is not an annotatable task option.${near ? ` Did you mean "${near}"?` : ''} Allowed: ${ANNOTATABLE_OPTIONS.join(', ')}.`);
    }
    if (value === undefined) continue;
    const expected = check(value);
    if (expected) throw new ConfigError('taskAnnotations', `${where}.${key} must be ${expected}, got ${JSON.stringify(value)}.`);
  }
  return options;
}

const isGlob = (key: string): boolean => key !== '*' && /[*?]/.test(key);

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** A map's matches for a name, most specific first: exact, globs in key order, '*'. */
function mapMatches(map: Readonly<Record<string, AnnotationOptions>>, name: string, where: string): Array<[AnnotationOptions, string]> {
  const out: Array<[AnnotationOptions, string]> = [];
  if (Object.hasOwn(map, name)) out.push([map[name]!, `${where}["${name}"]`]);
  for (const key of Object.keys(map)) {
    if (isGlob(key) && globToRegExp(key).test(name)) out.push([map[key]!, `${where}["${key}"]`]);
  }
  if (Object.hasOwn(map, '*')) out.push([map['*']!, `${where}["*"]`]);
  return out;
}

/**
 * Checks the setting's shape and every map entry now (functions are checked when they answer), so a
 * typo fails at app creation. Returns the list form.
 */
export function prepareAnnotations(value: unknown): readonly TaskAnnotation[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  list.forEach((entry, i) => {
    const where = Array.isArray(value) ? `taskAnnotations[${i}]` : 'taskAnnotations';
    if (typeof entry === 'function') return;
    if (entry && typeof entry === 'object' && typeof (entry as { annotate?: unknown }).annotate === 'function') return;
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new ConfigError('taskAnnotations', `${where} must be a map { "name or glob": { options } }, a function (taskName) => options, or an object with annotate(taskName); got ${JSON.stringify(entry)}.`);
    }
    for (const [key, options] of Object.entries(entry)) checkAnnotationOptions(options, `${where}["${key}"]`);
  });
  return list as TaskAnnotation[];
}

/** The options the annotations set for `name` (empty when none match). */
export function resolveAnnotations(annotations: readonly TaskAnnotation[], name: string): AnnotationOptions {
  const out: Record<string, unknown> = {};
  const apply = (options: AnnotationOptions, where: string): void => {
    for (const [key, value] of Object.entries(checkAnnotationOptions(options, where))) {
      if (value !== undefined && !(key in out)) out[key] = value;
    }
  };
  annotations.forEach((entry, i) => {
    const where = annotations.length > 1 ? `taskAnnotations[${i}]` : 'taskAnnotations';
    if (typeof entry === 'function' || typeof (entry as { annotate?: unknown }).annotate === 'function') {
      const fn = typeof entry === 'function' ? entry : (entry as { annotate: AnnotationFunction }).annotate.bind(entry);
      const found = fn(name);
      if (found) apply(found, `${where}("${name}")`);
      return;
    }
    for (const [options, at] of mapMatches(entry as Record<string, AnnotationOptions>, name, where)) apply(options, at);
  });
  return out;
}
