/** Beat settings: validated when the app is constructed, readable from CELERIAC_* variables. */
import { Beat, Celeriac, ConfigError, createLogger, loadConfig, MemoryBroker } from '../../src';

const make = (settings: Record<string, unknown>): Celeriac => new Celeriac({ brokerUrl: 'memory://beat-config', logger: createLogger('silent'), ...settings });
const entry = (schedule: unknown, extra: Record<string, unknown> = {}) => ({ beatSchedule: { nightly: { task: 'reports.nightly', schedule, ...extra } } });

afterAll(() => MemoryBroker.reset());

describe('beat settings', () => {
  it('has Celery-like defaults', () => {
    const conf = make({}).conf;
    expect(conf).toMatchObject({ beatSchedule: {}, beatScheduleFilename: 'celerybeat-schedule.json', beatMaxLoopInterval: 300, beatCatchUpWindow: 3600, beatStore: 'auto', beatKeyPrefix: 'celeriac:', beatLeaseTime: 30 });
    expect(conf.beatRedisUrl).toBeUndefined();
  });

  it.each([
    ['a bad crontab', entry({ crontab: '0 25 * * *' }), /beatSchedule entry "nightly": Invalid crontab "0 25 \* \* \*": Invalid value for hour: 25/],
    ['a crontab with four fields', entry('0 3 * *'), /expected five fields/],
    ['a bad crontab field', entry({ hour: 'noon' }), /Invalid crontab/],
    ['an unknown time zone', entry({ crontab: '0 3 * * *', timezone: 'Mars/Olympus' }), /Unknown time zone "Mars\/Olympus"/],
    ['an unknown solar event', entry({ solar: 'moonrise', lat: 0, lon: 0 }), /Unknown solar event "moonrise"/],
    ['a latitude out of range', entry({ solar: 'sunset', lat: 100, lon: 0 }), /latitude must be a number from -90 to 90/],
    ['a bad interval', entry({ every: '5 minutes' }), /every must be a positive number of milliseconds or a duration/],
    ['a bare number', entry(30), /bare number is ambiguous/],
    ['a bad clocked time', entry({ clocked: 'tomorrow' }), /clocked must be a valid Date/],
    ['a misspelt entry key', { beatSchedule: { nightly: { task: 't', schedul: '5m' } } }, /unknown key "schedul" \(did you mean "schedule"\?\)/],
    ['a snake_case option', entry('5m', { options: { routing_key: 'x' } }), /options has unknown key "routing_key" \(did you mean "routingKey"\?\)/],
    ['a bad priority', entry('5m', { options: { priority: 'high' } }), /options.priority must be an integer/],
    ['no task', { beatSchedule: { nightly: { schedule: '5m' } } }, /task must be a task name/],
    ['args that are not a list', entry('5m', { args: { x: 1 } }), /args must be an array/],
    ['a schedule that is not an object', { beatSchedule: [] }, /beatSchedule must be an object of named entries/],
    ['redis state without a Redis', { beatStore: 'redis' }, /beatStore" is "redis" but beat has no Redis/],
    ['a lease too short', { beatLeaseTime: 0 }, /beatLeaseTime.*>= 0.05/],
    ['an unknown store', { beatStore: 'disk' }, /one of auto, file, redis, memory/],
  ])('rejects %s with a ConfigError', (_what, settings, message) => {
    let error: unknown;
    try {
      make(settings);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
  });

  it('uses the app timezone for crontabs that name none', () => {
    const app = make({ timezone: 'America/New_York', beatStore: 'memory', ...entry({ crontab: '0 3 * * *' }) });
    const beat = new Beat(app, { loop: false });
    expect(beat.entries[0]!.schedule.toString()).toBe('crontab 0 3 * * * (America/New_York)');
  });

  it('reads beatSchedule and the rest from environment variables', () => {
    const conf = loadConfig({
      env: {
        CELERIAC_BEAT_SCHEDULE: JSON.stringify({ nightly: { task: 'reports.nightly', schedule: { crontab: '0 3 * * *' }, options: { queue: 'reports' } } }),
        CELERIAC_BEAT_MAX_LOOP_INTERVAL: '5',
        CELERIAC_BEAT_CATCH_UP_WINDOW: '60',
        CELERIAC_BEAT_STORE: 'memory',
        CELERIAC_BEAT_KEY_PREFIX: 'myapp:',
      },
      prefix: 'CELERIAC_',
    });
    const app = make(conf);
    expect(app.conf).toMatchObject({ beatMaxLoopInterval: 5, beatCatchUpWindow: 60, beatStore: 'memory', beatKeyPrefix: 'myapp:' });
    const beat = new Beat(app, { loop: false });
    expect(beat.entries.map((e) => [e.name, e.task, e.options])).toEqual([['nightly', 'reports.nightly', { queue: 'reports' }]]);
  });

  it('refuses an entry defined twice, and skipIfRunning without a result backend', () => {
    const app = make({ beatStore: 'memory', ...entry('5m') });
    expect(() => new Beat(app, { entries: { nightly: { task: 'x', schedule: '1m' } } })).toThrow(/"nightly" is defined twice/);
    expect(() => new Beat(app, { entries: { other: { task: 'x', schedule: '1m', skipIfRunning: true } } })).toThrow(/skipIfRunning.*set resultBackend/);
  });

  it('checks beatRedisUrl when beat is built (as brokerUrl is checked when the broker is)', () => {
    expect(() => new Beat(make({ beatRedisUrl: 'http://localhost' }))).toThrow(/Invalid Redis URL "http:\/\/localhost"/);
  });

  it('defaults the beat Redis to a redis:// broker, and keeps memory brokers single-instance', () => {
    const local = new Beat(make({ beatStore: 'memory' }), { loop: false });
    expect(local.coordinator.constructor.name).toBe('LocalCoordinator');
    const redisApp = new Celeriac({ brokerUrl: 'redis://127.0.0.1:1/0', logger: createLogger('silent') });
    const beat = new Beat(redisApp, { loop: false });
    expect(beat.coordinator.constructor.name).toBe('RedisCoordinator');
    expect(beat.store.constructor.name).toBe('RedisScheduleStore');
    return beat.close();
  });
});
