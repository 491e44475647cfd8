/** Validates user settings against the table in settings.ts and fills in defaults. */
import { toBeatEntries } from '../beat/beat-entry';
import { parseRateLimit } from '../worker/rate-limit';
import { ConfigError } from '../errors';
import { nearest } from '../util/levenshtein';
import { SETTINGS, SETTING_NAMES, type CeleriacSettings, type SettingSpec } from './settings';

function describe(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : JSON.stringify(value) ?? String(value);
}

export function checkSettingValue(key: string, spec: SettingSpec, value: unknown, where: string): void {
  const fail = (expected: string): never => {
    throw new ConfigError(key, `${where} has bad value ${describe(value)}: expected ${expected}.`);
  };
  switch (spec.kind) {
    case 'string':
      if (typeof value !== 'string') fail('a string');
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) fail('a finite number');
      if (spec.min !== undefined && (value as number) < spec.min) fail(`a number >= ${spec.min}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') fail('true or false');
      return;
    case 'enum':
      if (typeof value !== 'string' || !spec.values!.includes(value)) {
        const near = typeof value === 'string' ? nearest(value, spec.values!) : undefined;
        fail(`one of ${spec.values!.join(', ')}${near ? ` (did you mean "${near}"?)` : ''}`);
      }
      return;
    case 'list':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) fail('a list of strings');
      if (spec.values) {
        for (const v of value as string[]) {
          if (!spec.values.includes(v)) {
            const near = nearest(v, spec.values);
            throw new ConfigError(
              key,
              `${where} contains "${v}": allowed values are ${spec.values.join(', ')}${near ? ` (did you mean "${near}"?)` : ''}.`,
            );
          }
        }
      }
      return;
    case 'json':
    case 'object':
    case 'any':
      return;
  }
}

/**
 * Returns complete settings from a partial object. Throws ConfigError naming the key (and the nearest
 * valid key) for an unknown key, and naming the expected type for a bad value.
 */
export function validateSettings(input: Partial<CeleriacSettings> & Record<string, unknown>): CeleriacSettings {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    if (!(key in SETTINGS)) {
      const near = nearest(key, SETTING_NAMES);
      throw new ConfigError(key, `Unknown setting "${key}".${near ? ` Did you mean "${near}"?` : ''}`);
    }
  }
  for (const name of SETTING_NAMES) {
    const spec = SETTINGS[name];
    const value = input[name];
    if (value === undefined) {
      out[name] = structuredClone(spec.default);
      continue;
    }
    checkSettingValue(name, spec, value, `Setting "${name}"`);
    out[name] = value;
  }
  const settings = out as unknown as CeleriacSettings;
  // As Celery 5.2: the default queue's exchange and routing key are named after it unless given.
  if (input.taskDefaultExchange === undefined) settings.taskDefaultExchange = settings.taskDefaultQueue;
  if (input.taskDefaultRoutingKey === undefined) settings.taskDefaultRoutingKey = settings.taskDefaultQueue;
  validateShapes(settings);
  return settings;
}

function validateShapes(s: CeleriacSettings): void {
  if (s.taskDefaultPriority !== undefined && (s.taskDefaultPriority > 255 || !Number.isInteger(s.taskDefaultPriority))) {
    throw new ConfigError('taskDefaultPriority', `Setting "taskDefaultPriority" must be an integer 0-255, got ${s.taskDefaultPriority}.`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  for (const name of ['taskPublishRetryPolicy', 'brokerTransportOptions', 'resultBackendTransportOptions'] as const) {
    if (!isObject(s[name])) throw new ConfigError(name, `Setting "${name}" has bad value ${describe(s[name])}: expected an object.`);
  }
  const policy = s.taskPublishRetryPolicy as unknown as Record<string, unknown>;
  const policyKeys = ['maxRetries', 'intervalStart', 'intervalStep', 'intervalMax'];
  for (const k of Object.keys(policy)) {
    if (!policyKeys.includes(k)) {
      const near = nearest(k, policyKeys);
      throw new ConfigError('taskPublishRetryPolicy', `Unknown key "${k}" in taskPublishRetryPolicy.${near ? ` Did you mean "${near}"?` : ''}`);
    }
    const v = policy[k];
    if (typeof v !== 'number' || Number.isNaN(v) || v < 0) {
      throw new ConfigError('taskPublishRetryPolicy', `taskPublishRetryPolicy.${k} must be a number >= 0, got ${describe(policy[k])}.`);
    }
  }
  s.taskPublishRetryPolicy = { ...(SETTINGS.taskPublishRetryPolicy.default as object), ...s.taskPublishRetryPolicy };
  const transport = s.brokerTransportOptions as Record<string, unknown>;
  const transportKeys = ['visibilityTimeout', 'globalKeyprefix', 'consumerWatchdogInterval'];
  for (const k of Object.keys(transport)) {
    if (!transportKeys.includes(k)) {
      const near = nearest(k, transportKeys);
      throw new ConfigError('brokerTransportOptions', `Unknown key "${k}" in brokerTransportOptions.${near ? ` Did you mean "${near}"?` : ''}`);
    }
  }
  if (transport.visibilityTimeout !== undefined && (typeof transport.visibilityTimeout !== 'number' || transport.visibilityTimeout <= 0)) {
    throw new ConfigError('brokerTransportOptions', `brokerTransportOptions.visibilityTimeout must be a number of seconds > 0.`);
  }
  if (transport.consumerWatchdogInterval !== undefined && (typeof transport.consumerWatchdogInterval !== 'number' || transport.consumerWatchdogInterval < 0)) {
    throw new ConfigError('brokerTransportOptions', 'brokerTransportOptions.consumerWatchdogInterval must be a number of seconds >= 0 (0 disables the watchdog).');
  }
  const resultKeys = ['globalKeyprefix', 'resultChordOrdered'];
  const resultTransport = s.resultBackendTransportOptions as Record<string, unknown>;
  for (const k of Object.keys(resultTransport)) {
    if (!resultKeys.includes(k)) {
      throw new ConfigError('resultBackendTransportOptions', `Unknown key "${k}" in resultBackendTransportOptions. Did you mean "${nearest(k, resultKeys) ?? 'globalKeyprefix'}"?`);
    }
  }
  if (resultTransport.resultChordOrdered !== undefined && typeof resultTransport.resultChordOrdered !== 'boolean') {
    throw new ConfigError('resultBackendTransportOptions', 'resultBackendTransportOptions.resultChordOrdered must be true or false.');
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: s.timezone });
  } catch {
    throw new ConfigError('timezone', `Setting "timezone" has unknown time zone "${s.timezone}": use an IANA name such as "Europe/Paris" or "UTC".`);
  }
  validateBeat(s);
  validateQueues(s);
  parseRateLimit(s.taskDefaultRateLimit, 'taskDefaultRateLimit');
  parseRateLimit(s.taskDefaultGlobalRateLimit, 'taskDefaultGlobalRateLimit');
}

function validateQueues(s: CeleriacSettings): void {
  const priority = (value: unknown, key: string, label: string): void => {
    if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 255)) {
      throw new ConfigError(key, `${label} must be an integer from 0 to 255 (x-max-priority), got ${JSON.stringify(value)}.`);
    }
  };
  priority(s.taskQueueMaxPriority, 'taskQueueMaxPriority', 'Setting "taskQueueMaxPriority"');
  if (s.taskQueues === undefined) return;
  // Also accepted as { name: { ...declaration } } (handy in an environment variable).
  const given = s.taskQueues as unknown;
  if (given && typeof given === 'object' && !Array.isArray(given)) {
    s.taskQueues = Object.entries(given as Record<string, object>).map(([name, spec]) => ({ ...spec, name }));
  }
  if (!Array.isArray(s.taskQueues)) throw new ConfigError('taskQueues', 'Setting "taskQueues" must be a list of queues: [{ "name": "billing", ... }] (or { "billing": { ... } }).');
  const seen = new Set<string>();
  const keys = ['name', 'exchange', 'exchangeType', 'routingKey', 'maxPriority', 'queueArguments'];
  s.taskQueues.forEach((q, i) => {
    const where = `taskQueues[${i}]`;
    if (!q || typeof q !== 'object' || typeof q.name !== 'string' || !q.name) throw new ConfigError('taskQueues', `${where} needs a "name".`);
    for (const k of Object.keys(q)) {
      if (!keys.includes(k)) throw new ConfigError('taskQueues', `${where} ("${q.name}"): unknown key "${k}"${nearest(k, keys) ? `. Did you mean "${nearest(k, keys)}"?` : '.'}`);
    }
    if (seen.has(q.name)) throw new ConfigError('taskQueues', `${where}: queue "${q.name}" is declared twice.`);
    seen.add(q.name);
    if (q.exchangeType !== undefined && !['direct', 'topic', 'fanout'].includes(q.exchangeType)) throw new ConfigError('taskQueues', `${where} ("${q.name}"): exchangeType must be direct, topic or fanout.`);
    priority(q.maxPriority, 'taskQueues', `${where} ("${q.name}") maxPriority`);
    if (q.queueArguments !== undefined) {
      if (!q.queueArguments || typeof q.queueArguments !== 'object' || Array.isArray(q.queueArguments)) throw new ConfigError('taskQueues', `${where} ("${q.name}"): queueArguments must be an object.`);
      for (const [k, v] of Object.entries(q.queueArguments)) {
        if (typeof v !== 'number' && typeof v !== 'string') throw new ConfigError('taskQueues', `${where} ("${q.name}"): queue argument "${k}" must be a number or a string.`);
      }
      const type = q.queueArguments['x-queue-type'];
      if (type !== undefined && !['classic', 'quorum', 'stream'].includes(String(type))) throw new ConfigError('taskQueues', `${where} ("${q.name}"): x-queue-type must be classic, quorum or stream.`);
    }
  });
}

function validateBeat(s: CeleriacSettings): void {
  // Checked now, so a bad crontab or solar event fails at start-up rather than when beat first runs.
  toBeatEntries(s.beatSchedule, s.timezone);
  if (s.beatStore === 'redis' && s.beatRedisUrl === undefined && !/^rediss?:/i.test(s.brokerUrl)) {
    throw new ConfigError('beatStore', 'Setting "beatStore" is "redis" but beat has no Redis: set beatRedisUrl (e.g. redis://localhost:6379/0) or use a redis:// brokerUrl.');
  }
}
