import { cpus } from 'node:os';
import { ConfigError } from '../../src/errors';
import { envVarName, loadConfig } from '../../src/app/env';
import { SETTINGS, SETTING_NAMES, type CeleriacSettings } from '../../src/app/settings';
import { validateSettings } from '../../src/app/validate-settings';

type Input = Parameters<typeof validateSettings>[0];

/** Runs `fn`, expecting a ConfigError; returns it for closer checks. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('validateSettings: defaults', () => {
  it('fills in every setting with Celery defaults', () => {
    const s = validateSettings({});
    expect(Object.keys(s).sort()).toEqual([...SETTING_NAMES].sort());
    expect(s).toMatchObject({
      brokerUrl: 'memory://',
      resultExpires: 86400,
      resultSerializer: 'json',
      taskSerializer: 'json',
      acceptContent: ['json'],
      taskDefaultQueue: 'celery',
      taskDefaultExchange: 'celery',
      taskDefaultRoutingKey: 'celery',
      taskCreateMissingQueues: true,
      taskPublishRetry: true,
      taskPublishRetryPolicy: { maxRetries: 3, intervalStart: 0, intervalStep: 0.2, intervalMax: 0.2 },
      taskAcksLate: false,
      taskTrackStarted: false,
      timezone: 'UTC',
      enableUtc: true,
      workerConcurrency: Math.max(1, cpus().length),
      workerPrefetchMultiplier: 4,
      workerLogLevel: 'info',
    });
    expect(s.resultBackend).toBeUndefined();
  });

  it('hands out copies of mutable defaults', () => {
    const a = validateSettings({});
    a.acceptContent.push('msgpack');
    a.taskPublishRetryPolicy.maxRetries = 99;
    const b = validateSettings({});
    expect(b.acceptContent).toEqual(['json']);
    expect(b.taskPublishRetryPolicy.maxRetries).toBe(3);
    expect(SETTINGS.acceptContent.default).toEqual(['json']);
  });

  it('keeps given values and treats undefined as unset', () => {
    const s = validateSettings({ brokerUrl: 'redis://localhost:6379/0', taskDefaultQueue: 'jobs', resultBackend: undefined, acceptContent: ['json', 'msgpack'] });
    expect(s).toMatchObject({ brokerUrl: 'redis://localhost:6379/0', taskDefaultQueue: 'jobs', acceptContent: ['json', 'msgpack'] });
    expect(s.resultBackend).toBeUndefined();
  });
});

describe('validateSettings: unknown keys', () => {
  it('names the key and suggests the nearest valid one', () => {
    const err = configError(() => validateSettings({ taskDefaultQeue: 'x' }));
    expect(err.key).toBe('taskDefaultQeue');
    expect(err.message).toBe('Unknown setting "taskDefaultQeue". Did you mean "taskDefaultQueue"?');
    expect(err.code).toBe('CELERIAC_CONFIG');
  });

  it("suggests our name for Celery's snake_case name", () => {
    expect(configError(() => validateSettings({ task_default_queue: 'x' })).message).toContain('Did you mean "taskDefaultQueue"?');
    expect(configError(() => validateSettings({ broker_url: 'x' })).message).toContain('Did you mean "brokerUrl"?');
  });

  it('gives no suggestion when nothing is close', () => {
    const err = configError(() => validateSettings({ zzz: 1 }));
    expect(err.message).toBe('Unknown setting "zzz".');
  });
});

describe('validateSettings: bad values', () => {
  it.each<[string, Input, RegExp]>([
    ['string', { brokerUrl: 5 as unknown as string }, /Setting "brokerUrl" has bad value 5: expected a string\./],
    ['number', { resultExpires: '60' as unknown as number }, /Setting "resultExpires" has bad value "60": expected a finite number\./],
    ['non-finite number', { brokerConnectionTimeout: Infinity }, /expected a finite number/],
    ['number below min', { resultExpires: -1 }, /expected a number >= 0/],
    ['concurrency 0', { workerConcurrency: 0 }, /Setting "workerConcurrency" has bad value 0: expected a number >= 1\./],
    ['boolean', { taskAcksLate: 'yes' as unknown as boolean }, /Setting "taskAcksLate" has bad value "yes": expected true or false\./],
    ['list', { acceptContent: 'json' as unknown as string[] }, /expected a list of strings/],
    ['list of numbers', { imports: [1] as unknown as string[] }, /expected a list of strings/],
    ['priority above 255', { taskDefaultPriority: 300 }, /must be an integer 0-255, got 300/],
    ['fractional priority', { taskDefaultPriority: 1.5 }, /must be an integer 0-255/],
  ])('%s', (_name, input, message) => {
    expect(() => validateSettings(input)).toThrow(message);
    expect(() => validateSettings(input)).toThrow(ConfigError);
  });

  it('names the offending key in ConfigError.key', () => {
    expect(configError(() => validateSettings({ workerConcurrency: 0 })).key).toBe('workerConcurrency');
  });

  it('bad enum value suggests the nearest allowed value', () => {
    const err = configError(() => validateSettings({ taskSerializer: 'jsn' }));
    expect(err.key).toBe('taskSerializer');
    expect(err.message).toBe('Setting "taskSerializer" has bad value "jsn": expected one of json, msgpack (did you mean "json"?).');
    expect(configError(() => validateSettings({ workerLogLevel: 'inf' })).message).toContain('did you mean "info"?');
    expect(configError(() => validateSettings({ taskCompression: 'gzp' })).message).toContain('did you mean "gzip"?');
  });

  it('pickle is never an accepted serializer', () => {
    const err = configError(() => validateSettings({ acceptContent: ['json', 'pickle'] }));
    expect(err.message).toContain('contains "pickle": allowed values are json, msgpack');
    expect(() => validateSettings({ taskSerializer: 'pickle' })).toThrow(/expected one of json, msgpack/);
  });

  it('a list value with a typo gets a suggestion', () => {
    expect(configError(() => validateSettings({ acceptContent: ['msgpak'] })).message).toContain('(did you mean "msgpack"?)');
  });

  it('an unknown time zone is refused with an example', () => {
    const err = configError(() => validateSettings({ timezone: 'Mars/Olympus_Mons' }));
    expect(err.key).toBe('timezone');
    expect(err.message).toContain('unknown time zone "Mars/Olympus_Mons"');
    expect(err.message).toContain('IANA name');
    expect(validateSettings({ timezone: 'Europe/Paris' }).timezone).toBe('Europe/Paris');
  });
});

describe('validateSettings: retry policy and transport options', () => {
  it('merges a partial retry policy over the defaults', () => {
    expect(validateSettings({ taskPublishRetryPolicy: { maxRetries: 5 } as CeleriacSettings['taskPublishRetryPolicy'] }).taskPublishRetryPolicy).toEqual({
      maxRetries: 5,
      intervalStart: 0,
      intervalStep: 0.2,
      intervalMax: 0.2,
    });
  });

  it('names an unknown retry policy key with a suggestion', () => {
    const err = configError(() => validateSettings({ taskPublishRetryPolicy: { maxRetires: 5 } as unknown as CeleriacSettings['taskPublishRetryPolicy'] }));
    expect(err.key).toBe('taskPublishRetryPolicy');
    expect(err.message).toBe('Unknown key "maxRetires" in taskPublishRetryPolicy. Did you mean "maxRetries"?');
  });

  it.each([-1, '3', NaN])('refuses retry policy value %p', (v) => {
    expect(() => validateSettings({ taskPublishRetryPolicy: { intervalMax: v } as unknown as CeleriacSettings['taskPublishRetryPolicy'] })).toThrow(/taskPublishRetryPolicy.intervalMax must be a number >= 0/);
  });

  it.each([null, 'fast', [1]])('refuses a retry policy or transport options that is not an object (%p)', (v) => {
    expect(() => validateSettings({ taskPublishRetryPolicy: v as unknown as CeleriacSettings['taskPublishRetryPolicy'] })).toThrow(/Setting "taskPublishRetryPolicy" has bad value .*: expected an object/);
    expect(() => validateSettings({ brokerTransportOptions: v as unknown as CeleriacSettings['brokerTransportOptions'] })).toThrow(/Setting "brokerTransportOptions" has bad value .*: expected an object/);
  });

  it('checks transport option keys and visibilityTimeout', () => {
    expect(validateSettings({ brokerTransportOptions: { visibilityTimeout: 60, globalKeyprefix: 'app:' } }).brokerTransportOptions).toEqual({ visibilityTimeout: 60, globalKeyprefix: 'app:' });
    expect(() => validateSettings({ brokerTransportOptions: { visibility_timeout: 60 } as never })).toThrow('Unknown key "visibility_timeout" in brokerTransportOptions. Did you mean "visibilityTimeout"?');
    expect(() => validateSettings({ brokerTransportOptions: { visibilityTimeout: 0 } })).toThrow(/visibilityTimeout must be a number of seconds > 0/);
  });
});

describe('envVarName', () => {
  it("is the prefix plus Celery's name upper-cased", () => {
    expect(envVarName('taskDefaultQueue')).toBe('CELERIAC_TASK_DEFAULT_QUEUE');
    expect(envVarName('brokerUrl')).toBe('CELERIAC_BROKER_URL');
    expect(envVarName('acceptContent')).toBe('CELERIAC_ACCEPT_CONTENT');
    expect(envVarName('workerConcurrency', 'MYAPP_')).toBe('MYAPP_WORKER_CONCURRENCY');
  });

  it('is unique per setting', () => {
    const names = SETTING_NAMES.map((n) => envVarName(n));
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('loadConfig: coercion from strings', () => {
  it('coerces every kind of setting', () => {
    const env = {
      CELERIAC_BROKER_URL: 'redis://127.0.0.1:6379/3',
      CELERIAC_RESULT_EXPIRES: '3600',
      CELERIAC_BROKER_CONNECTION_TIMEOUT: ' 2.5 ',
      CELERIAC_RESULT_EXTENDED: 'true',
      CELERIAC_TASK_ACKS_LATE: '1',
      CELERIAC_TASK_TRACK_STARTED: 'yes',
      CELERIAC_TASK_ALWAYS_EAGER: 'off',
      CELERIAC_ENABLE_UTC: 'FALSE',
      CELERIAC_TASK_SERIALIZER: 'msgpack',
      CELERIAC_ACCEPT_CONTENT: 'json, msgpack',
      CELERIAC_IMPORTS: '["dist/tasks/*.js", "dist/more.js"]',
      CELERIAC_BROKER_TRANSPORT_OPTIONS: '{"visibilityTimeout": 60}',
      CELERIAC_TASK_ROUTES: '{"billing.*": {"queue": "billing"}}',
      CELERIAC_TASK_PUBLISH_RETRY_POLICY: '{"maxRetries": 5}',
    };
    const cfg = loadConfig({ env });
    expect(cfg).toEqual({
      brokerUrl: 'redis://127.0.0.1:6379/3',
      resultExpires: 3600,
      brokerConnectionTimeout: 2.5,
      resultExtended: true,
      taskAcksLate: true,
      taskTrackStarted: true,
      taskAlwaysEager: false,
      enableUtc: false,
      taskSerializer: 'msgpack',
      acceptContent: ['json', 'msgpack'],
      imports: ['dist/tasks/*.js', 'dist/more.js'],
      brokerTransportOptions: { visibilityTimeout: 60 },
      taskRoutes: { 'billing.*': { queue: 'billing' } },
      taskPublishRetryPolicy: { maxRetries: 5 },
    });
    expect(validateSettings(cfg).taskPublishRetryPolicy.maxRetries).toBe(5);
  });

  it('reads a value for every setting that may come from the environment, and validateSettings accepts the result', () => {
    const sample: Record<string, string> = { string: 'x', number: '7', boolean: 'on', list: 'json', json: '{}', object: '{}', any: '1' };
    const env: Record<string, string> = {};
    for (const name of SETTING_NAMES) {
      const spec = SETTINGS[name];
      if (spec.codeOnly) continue;
      env[envVarName(name)] = spec.kind === 'enum' ? spec.values![0]! : spec.kind === 'list' && !spec.values ? 'a,b' : sample[spec.kind]!;
    }
    env[envVarName('timezone')] = 'UTC';
    // Strings with a syntax of their own get a valid one.
    env[envVarName('taskDefaultRateLimit')] = '10/s';
    env[envVarName('taskDefaultGlobalRateLimit')] = '100/m';
    const cfg = loadConfig({ env });
    expect(Object.keys(cfg).sort()).toEqual(SETTING_NAMES.filter((n) => !SETTINGS[n].codeOnly).sort());
    expect(() => validateSettings(cfg)).not.toThrow();
  });

  it.each([
    ['boolean', 'CELERIAC_TASK_ACKS_LATE', ['true', 'TRUE', '1', 'yes', 'on', ' On '], true],
    ['boolean', 'CELERIAC_TASK_ACKS_LATE', ['false', '0', 'no', 'off', ''], false],
  ] as const)('%s %s', (_kind, variable, raws, expected) => {
    for (const raw of raws) expect(loadConfig({ env: { [variable]: raw } }).taskAcksLate).toBe(expected);
  });

  it('lists: comma-separated or a JSON array; empty is []', () => {
    expect(loadConfig({ env: { CELERIAC_IMPORTS: ' a.js , b.js ,, ' } }).imports).toEqual(['a.js', 'b.js']);
    expect(loadConfig({ env: { CELERIAC_IMPORTS: '["a,b.js"]' } }).imports).toEqual(['a,b.js']);
    expect(loadConfig({ env: { CELERIAC_IMPORTS: '' } }).imports).toEqual([]);
  });

  it('ignores unset variables', () => {
    expect(loadConfig({ env: { CELERIAC_BROKER_URL: undefined } })).toEqual({});
  });

  it('uses a custom prefix and only that prefix', () => {
    const cfg = loadConfig({ env: { MYAPP_BROKER_URL: 'redis://h/1', CELERIAC_BROKER_URL: 'redis://other/2', MYAPP_WORKER_CONCURRENCY: '3' }, prefix: 'MYAPP_' });
    expect(cfg).toEqual({ brokerUrl: 'redis://h/1', workerConcurrency: 3 });
  });
});

describe('loadConfig: bad values name the exact variable', () => {
  it('CELERIAC_WORKER_CONCURRENCY="abc"', () => {
    const err = configError(() => loadConfig({ env: { CELERIAC_WORKER_CONCURRENCY: 'abc' } }));
    expect(err.key).toBe('CELERIAC_WORKER_CONCURRENCY');
    expect(err.message).toBe('Environment variable CELERIAC_WORKER_CONCURRENCY="abc" is not valid: expected a number.');
  });

  it.each([
    ['CELERIAC_WORKER_CONCURRENCY', '', /CELERIAC_WORKER_CONCURRENCY="" is not valid: expected a number/],
    ['CELERIAC_WORKER_CONCURRENCY', '0', /Environment variable CELERIAC_WORKER_CONCURRENCY has bad value 0: expected a number >= 1/],
    ['CELERIAC_RESULT_EXPIRES', 'Infinity', /CELERIAC_RESULT_EXPIRES="Infinity" is not valid: expected a number/],
    ['CELERIAC_TASK_ACKS_LATE', 'maybe', /CELERIAC_TASK_ACKS_LATE="maybe" is not valid: expected true\/false, 1\/0, yes\/no or on\/off/],
    ['CELERIAC_TASK_SERIALIZER', 'jsno', /Environment variable CELERIAC_TASK_SERIALIZER has bad value "jsno": expected one of json, msgpack \(did you mean "json"\?\)/],
    ['CELERIAC_ACCEPT_CONTENT', 'json,pickle', /Environment variable CELERIAC_ACCEPT_CONTENT contains "pickle"/],
    ['CELERIAC_ACCEPT_CONTENT', '[json]', /CELERIAC_ACCEPT_CONTENT="\[json\]" is not valid: expected a JSON array or a comma-separated list/],
    ['CELERIAC_IMPORTS', '[1, 2]', /Environment variable CELERIAC_IMPORTS has bad value \[1,2\]: expected a list of strings/],
    ['CELERIAC_BROKER_TRANSPORT_OPTIONS', '{visibilityTimeout: 1}', /CELERIAC_BROKER_TRANSPORT_OPTIONS="\{visibilityTimeout: 1\}" is not valid: expected JSON/],
  ])('%s=%p', (variable, raw, message) => {
    const err = configError(() => loadConfig({ env: { [variable]: raw } }));
    expect(err.key).toBe(variable);
    expect(err.message).toMatch(message);
  });
});

describe('loadConfig: onUnknown', () => {
  it('reports a misspelled variable with the nearest real one', () => {
    const reports: Array<[string, string | undefined]> = [];
    loadConfig({ env: { CELERIAC_WORKER_CONCURENCY: '4', CELERIAC_BROKER_URL: 'memory://', PATH: '/bin' }, onUnknown: (v, s) => reports.push([v, s]) });
    expect(reports).toEqual([['CELERIAC_WORKER_CONCURENCY', 'CELERIAC_WORKER_CONCURRENCY']]);
  });

  it('reports without a suggestion when nothing is close, and only variables with the prefix', () => {
    const reports: Array<[string, string | undefined]> = [];
    loadConfig({ env: { CELERIAC_X: '1', OTHER_WORKER_CONCURENCY: '1' }, onUnknown: (v, s) => reports.push([v, s]) });
    expect(reports).toEqual([['CELERIAC_X', undefined]]);
  });

  it('works with a custom prefix', () => {
    const reports: Array<[string, string | undefined]> = [];
    loadConfig({ env: { MYAPP_TASK_DEFAULT_QEUE: 'x', CELERIAC_TASK_DEFAULT_QEUE: 'y' }, prefix: 'MYAPP_', onUnknown: (v, s) => reports.push([v, s]) });
    expect(reports).toEqual([['MYAPP_TASK_DEFAULT_QEUE', 'MYAPP_TASK_DEFAULT_QUEUE']]);
  });

  it('is silent when every variable is known', () => {
    const onUnknown = jest.fn();
    loadConfig({ env: { CELERIAC_BROKER_URL: 'memory://' }, onUnknown });
    expect(onUnknown).not.toHaveBeenCalled();
  });
});

