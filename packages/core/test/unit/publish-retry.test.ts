import { publishWithRetry, retryDelayMs } from '../../src/app/publish-retry';
import type { RetryPolicy } from '../../src/app/settings';
import { validateSettings } from '../../src/app/validate-settings';
import { BrokerConnectionError, EncodeError } from '../../src/errors';

const DEFAULT_POLICY: RetryPolicy = validateSettings({}).taskPublishRetryPolicy;
const isRecoverable = (err: unknown): boolean => err instanceof BrokerConnectionError;

/** An attemptPublish that fails `failures` times with `error`, then succeeds; records attempt times. */
function flaky(failures: number, error: () => Error = () => new BrokerConnectionError('ECONNREFUSED')) {
  const attempts: number[] = [];
  const fn = jest.fn(async () => {
    attempts.push(Date.now());
    if (attempts.length <= failures) throw error();
  });
  return { fn, attempts };
}

describe('retryDelayMs', () => {
  it('follows the default policy: 0 s, then 0.2 s each (Celery task_publish_retry_policy)', () => {
    expect(DEFAULT_POLICY).toEqual({ maxRetries: 3, intervalStart: 0, intervalStep: 0.2, intervalMax: 0.2 });
    expect([1, 2, 3, 4].map((n) => retryDelayMs(DEFAULT_POLICY, n))).toEqual([0, 200, 200, 200]);
  });

  it('starts at intervalStart, grows by intervalStep, stops at intervalMax', () => {
    const policy = { maxRetries: 10, intervalStart: 1, intervalStep: 2, intervalMax: 4 };
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(policy, n))).toEqual([1000, 3000, 4000, 4000, 4000]);
  });
});

describe('publishWithRetry', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('publishes once when the first attempt works', async () => {
    const { fn } = flaky(0);
    const onRetry = jest.fn();
    await publishWithRetry(fn, isRecoverable, DEFAULT_POLICY, onRetry);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(onRetry).not.toHaveBeenCalled();
  });

  it('retries recoverable errors with the policy delays until it works', async () => {
    const { fn, attempts } = flaky(2);
    const onRetry = jest.fn();
    const done = publishWithRetry(fn, isRecoverable, { maxRetries: 5, intervalStart: 1, intervalStep: 2, intervalMax: 10 }, onRetry);
    await jest.advanceTimersByTimeAsync(999);
    expect(fn).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(fn).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(3000);
    await expect(done).resolves.toBeUndefined();
    expect(fn).toHaveBeenCalledTimes(3);
    expect(attempts.map((t) => t - attempts[0]!)).toEqual([0, 1000, 4000]);
    expect(onRetry.mock.calls.map(([err, attempt, delay]) => [(err as Error).message, attempt, delay])).toEqual([
      ['ECONNREFUSED', 1, 1000],
      ['ECONNREFUSED', 2, 3000],
    ]);
  });

  it('stops after maxRetries retries and throws the last error', async () => {
    let n = 0;
    const fn = jest.fn(async () => {
      n++;
      throw new BrokerConnectionError(`down ${n}`);
    });
    const done = publishWithRetry(fn, isRecoverable, DEFAULT_POLICY);
    const outcome = expect(done).rejects.toThrow('down 4');
    await jest.advanceTimersByTimeAsync(10_000);
    await outcome;
    // 1 attempt + maxRetries (3) retries, as kombu's ensure(max_retries=3)
    expect(fn).toHaveBeenCalledTimes(4);
  });

  it('does not retry at all with maxRetries 0', async () => {
    const { fn } = flaky(1);
    await expect(publishWithRetry(fn, isRecoverable, { ...DEFAULT_POLICY, maxRetries: 0 })).rejects.toBeInstanceOf(BrokerConnectionError);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('never retries an error that is not recoverable', async () => {
    const { fn } = flaky(1, () => new EncodeError('cannot encode'));
    const onRetry = jest.fn();
    await expect(publishWithRetry(fn, isRecoverable, { ...DEFAULT_POLICY, maxRetries: 10 }, onRetry)).rejects.toThrow(EncodeError);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(onRetry).not.toHaveBeenCalled();
  });

  it('stops retrying as soon as a non-recoverable error follows recoverable ones', async () => {
    let n = 0;
    const fn = jest.fn(async () => {
      n++;
      throw n === 1 ? new BrokerConnectionError('blip') : new EncodeError('bad');
    });
    const done = publishWithRetry(fn, isRecoverable, { ...DEFAULT_POLICY, maxRetries: 10 });
    const outcome = expect(done).rejects.toThrow(EncodeError);
    await jest.advanceTimersByTimeAsync(1000);
    await outcome;
    expect(fn).toHaveBeenCalledTimes(2);
  });
});
