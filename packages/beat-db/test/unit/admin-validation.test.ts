/** Field-level validation of the admin's task and schedule input (no database). */
import { AdminError, validateSchedule, validateTaskInput, type FieldErrors, type TaskNameCheck } from '../../src/admin';

const tasks: TaskNameCheck = { isAllowed: (name) => name === 'known.task', hint: 'Add it to allowedTasks.' };
const create = (body: unknown) => validateTaskInput(body, { partial: false, tasks });
const fieldsOf = (fn: () => unknown): Record<string, string> => {
  try {
    fn();
  } catch (err) {
    if (err instanceof AdminError && err.fields) return err.fields;
    throw err;
  }
  throw new Error('expected a validation error');
};
const schedule = (raw: unknown) => {
  const errors: FieldErrors = {};
  return { value: validateSchedule(raw, errors), errors };
};

describe('validateTaskInput', () => {
  it('requires name, task and schedule on create, and fills nothing else in', () => {
    expect(fieldsOf(() => create({}))).toEqual({ name: 'name is required.', task: 'task is required.', schedule: expect.any(String) });
    expect(create({ name: ' a ', task: 'known.task', schedule: { kind: 'interval', every: 5, period: 'seconds' } })).toEqual({
      name: 'a',
      task: 'known.task',
      schedule: { kind: 'interval', every: 5, period: 'seconds' },
    });
  });

  it('takes any subset on edit', () => {
    expect(validateTaskInput({ enabled: false }, { partial: true, tasks })).toEqual({ enabled: false });
    expect(fieldsOf(() => validateTaskInput({ task: 'unknown' }, { partial: true, tasks }))).toEqual({ task: 'Task "unknown" is not registered on this app. Add it to allowedTasks.' });
  });

  it('reads args, kwargs and headers as JSON values or JSON text', () => {
    const out = validateTaskInput({ args: '[1, "a"]', kwargs: { a: 1 }, headers: '{"h": true}' }, { partial: true, tasks });
    expect(out).toEqual({ args: [1, 'a'], kwargs: { a: 1 }, headers: { h: true } });
    expect(fieldsOf(() => validateTaskInput({ args: '{"a": 1}', kwargs: '[]', headers: '{oops' }, { partial: true, tasks }))).toEqual({
      args: expect.stringContaining('JSON array'),
      kwargs: expect.stringContaining('JSON object'),
      headers: expect.stringContaining('not valid JSON'),
    });
    expect(fieldsOf(() => validateTaskInput({ args: ['x'.repeat(70_000)] }, { partial: true, tasks })).args).toContain('65535 bytes');
  });

  it('checks names, routing, priority, times and flags', () => {
    expect(
      fieldsOf(() =>
        validateTaskInput(
          { name: 'n'.repeat(201), queue: 5, priority: 256, expireSeconds: -1, expires: '2030-01-01', startTime: '2030-01-01T00:00:00', oneOff: 'yes', description: 3 },
          { partial: true, tasks },
        ),
      ),
    ).toEqual({
      name: expect.stringContaining('200'),
      queue: expect.any(String),
      priority: expect.stringContaining('0 to 255'),
      expireSeconds: expect.any(String),
      expires: expect.stringContaining('offset'),
      startTime: expect.stringContaining('offset'),
      oneOff: 'oneOff must be true or false.',
      description: expect.any(String),
    });
    expect(validateTaskInput({ queue: '', routingKey: null, priority: '9', expires: '2030-01-01T00:00:00+02:00' }, { partial: true, tasks })).toEqual({
      queue: null,
      routingKey: null,
      priority: 9,
      expires: new Date('2029-12-31T22:00:00Z'),
    });
  });

  it('reports unknown fields and a body that is not an object', () => {
    expect(fieldsOf(() => validateTaskInput({ nmae: 'x' }, { partial: true, tasks }))).toEqual({ nmae: 'Unknown field "nmae".' });
    expect(fieldsOf(() => validateTaskInput([1], { partial: true, tasks }))).toEqual({ body: expect.any(String) });
  });
});

describe('validateSchedule', () => {
  it('points each bad crontab field at its own path', () => {
    const { value, errors } = schedule({ kind: 'crontab', minute: '61', hour: '*/2', dayOfMonth: '32', monthOfYear: 'jan', dayOfWeek: 'mon-fri', timezone: 'Europe/Nowhere' });
    expect(value).toBeUndefined();
    expect(Object.keys(errors).sort()).toEqual(['schedule.dayOfMonth', 'schedule.minute', 'schedule.timezone']);
    expect(errors['schedule.minute']).toMatch(/^Invalid minute "61": /);
  });

  it("accepts Celery's crontab dialect, numbers and defaults missing fields to '*'", () => {
    expect(schedule({ kind: 'crontab', minute: 0, hour: '22-2', dayOfWeek: 'fri-mon' }).value).toEqual({
      kind: 'crontab',
      minute: '0',
      hour: '22-2',
      dayOfMonth: '*',
      monthOfYear: '*',
      dayOfWeek: 'fri-mon',
      timezone: 'UTC',
    });
  });

  it('checks intervals, solar events and places, clocked times', () => {
    expect(schedule({ kind: 'interval', every: 1.5, period: 'minutes' }).errors).toEqual({ 'schedule.every': expect.any(String) });
    expect(schedule({ kind: 'interval', every: '30' }).value).toEqual({ kind: 'interval', every: 30, period: 'seconds' });
    expect(schedule({ kind: 'solar', event: 'dusk', latitude: 0, longitude: -181 }).errors).toEqual({
      'schedule.event': expect.stringContaining('dusk_'),
      'schedule.longitude': expect.any(String),
    });
    // Six decimals, as the shared solar row stores them (so it is found again).
    expect(schedule({ kind: 'solar', event: 'sunset', latitude: 48.85661234, longitude: '2.3522' }).value).toEqual({ kind: 'solar', event: 'sunset', latitude: 48.856612, longitude: 2.3522 });
    expect(schedule({ kind: 'clocked', clockedTime: '2030-01-01T10:00:00+01:00' }).value).toEqual({ kind: 'clocked', clockedTime: '2030-01-01T09:00:00.000Z' });
    expect(schedule({ kind: 'clocked', clockedTime: 5 }).errors).toEqual({ 'schedule.clockedTime': expect.any(String) });
    expect(schedule('every day').errors).toEqual({ schedule: expect.any(String) });
  });
});
