/** Publish retry when the broker is unreachable (Celery's task_publish_retry_policy, kombu `ensure`). */
import type { RetryPolicy } from './settings';

/** Milliseconds to wait before retry number `attempt` (1-based). */
export function retryDelayMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.intervalMax, policy.intervalStart + (attempt - 1) * policy.intervalStep) * 1000;
}

export async function publishWithRetry(
  attemptPublish: () => Promise<void>,
  isRecoverable: (err: unknown) => boolean,
  policy: RetryPolicy,
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await attemptPublish();
      return;
    } catch (err) {
      if (attempt > policy.maxRetries || !isRecoverable(err)) throw err;
      const delay = retryDelayMs(policy, attempt);
      onRetry?.(err, attempt, delay);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
