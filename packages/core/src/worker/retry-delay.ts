/** Countdown of an automatic retry (celery/app/autoretry.py + celery/utils/time.py `get_exponential_backoff_interval`). */
import type { TaskOptions } from '../task/task-options';

export function autoretryCountdown(options: TaskOptions, retries: number, random: () => number = Math.random): number {
  const backoff = options.retryBackoff ?? false;
  // Celery reads int(retry_backoff): true is a factor of 1 s; 0 (like false) means no backoff at all.
  const factor = backoff === true ? 1 : backoff === false ? 0 : backoff;
  if (!factor) return options.defaultRetryDelay ?? 180;
  const max = options.retryBackoffMax ?? 600;
  let countdown = Math.min(max, factor * 2 ** retries);
  // Full jitter as Celery: random.randrange(countdown + 1), whole seconds from 0 to countdown inclusive.
  if (options.retryJitter ?? true) countdown = Number.isInteger(countdown) ? Math.floor(random() * (countdown + 1)) : random() * countdown;
  return Math.max(0, countdown);
}
