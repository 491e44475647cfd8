/**
 * TimerEtaScheduler: setTimeout fires at once for a delay over 2^31-1 ms (~24.8 days), so a far ETA
 * (a countdown of a month, an eta in year 9999) must be re-armed in steps, never run early.
 */
import { TimerEtaScheduler } from '../../src/worker/eta-scheduler';

const MAX_TIMEOUT = 2 ** 31 - 1;
const DAY = 86_400_000;

beforeEach(() => jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') }));
afterEach(() => jest.useRealTimers());

it('runs a task due in 30 days then, not when the first 2^31-1 ms timer fires', () => {
  const scheduler = new TimerEtaScheduler();
  const run = jest.fn();
  scheduler.schedule(new Date(Date.now() + 30 * DAY), run);
  jest.advanceTimersByTime(MAX_TIMEOUT + 1);
  expect(run).not.toHaveBeenCalled();
  expect(scheduler.size).toBe(1);
  jest.advanceTimersByTime(30 * DAY - MAX_TIMEOUT - 2);
  expect(run).not.toHaveBeenCalled();
  jest.advanceTimersByTime(1);
  expect(run).toHaveBeenCalledTimes(1);
  expect(scheduler.size).toBe(0);
});

it('holds an eta in year 9999 through a year of re-armed timers, and cancels it', () => {
  const scheduler = new TimerEtaScheduler();
  const run = jest.fn();
  const cancel = scheduler.schedule(new Date('9999-12-31T23:59:59Z'), run);
  for (let month = 0; month < 12; month++) jest.advanceTimersByTime(31 * DAY);
  expect(run).not.toHaveBeenCalled();
  expect(scheduler.size).toBe(1);
  cancel();
  expect(scheduler.size).toBe(0);
  expect(jest.getTimerCount()).toBe(0);
});

it('runs an eta in the past at once', () => {
  const scheduler = new TimerEtaScheduler();
  const run = jest.fn();
  scheduler.schedule(new Date(Date.now() - 1000), run);
  jest.advanceTimersByTime(0);
  expect(run).toHaveBeenCalledTimes(1);
});
