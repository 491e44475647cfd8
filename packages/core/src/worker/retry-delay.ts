/** Countdown of an automatic retry (celery/utils/time.py `get_exponential_backoff_interval`). */
import type { TaskOptions } from '../task/task-options';

export function autoretryCountdown(options: TaskOptions, retries: number, random: () => number = Math.random): number {
  const backoff = options.retryBackoff ?? false;
  if (backoff === false) return options.defaultRetryDelay ?? 180;
  const factor = backoff === true ? 1 : backoff;
  const max = options.retryBackoffMax ?? 600;
  let countdown = Math.min(max, factor * 2 ** retries);
  // Full jitter: anywhere between 0 and the computed delay, as Celery does.
  if (options.retryJitter ?? true) countdown = random() * countdown;
  return Math.max(0, countdown);
}
