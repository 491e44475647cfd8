/**
 * Kombu's Redis priority buckets (kombu/transport/redis.py `PRIORITY_STEPS`): priorities map to the
 * largest step <= them, 0 is served first. The memory broker uses the same so tests carry over.
 */
export const PRIORITY_STEPS = [0, 3, 6, 9] as const;

/** The bucket step for a priority (0-9; out-of-range values are clamped). */
export function priorityStep(priority: number | undefined): number {
  const p = Math.min(9, Math.max(0, Math.floor(priority ?? 0)));
  let step = 0;
  for (const s of PRIORITY_STEPS) if (p >= s) step = s;
  return step;
}
