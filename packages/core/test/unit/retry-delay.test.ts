import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { autoretryCountdown } from '../../src/worker/retry-delay';

const PYTHON = '/usr/bin/python3';

describe('autoretryCountdown without backoff', () => {
  it('uses defaultRetryDelay, 180 s by default (Task.default_retry_delay)', () => {
    expect(autoretryCountdown({}, 0)).toBe(180);
    expect(autoretryCountdown({}, 5)).toBe(180);
    expect(autoretryCountdown({ defaultRetryDelay: 7 }, 3)).toBe(7);
    expect(autoretryCountdown({ retryBackoff: false, defaultRetryDelay: 7 }, 3)).toBe(7);
  });

  it('treats retryBackoff 0 as no backoff, like Celery (`if retry_backoff:`)', () => {
    expect(autoretryCountdown({ retryBackoff: 0, defaultRetryDelay: 9 }, 2)).toBe(9);
  });
});

describe('autoretryCountdown with exponential backoff', () => {
  it('doubles from the factor and stops at retryBackoffMax (600 s by default), without jitter', () => {
    const seq = (opts: Parameters<typeof autoretryCountdown>[0]) => Array.from({ length: 12 }, (_, r) => autoretryCountdown({ retryJitter: false, ...opts }, r));
    expect(seq({ retryBackoff: true })).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]);
    expect(seq({ retryBackoff: 3 })).toEqual([3, 6, 12, 24, 48, 96, 192, 384, 600, 600, 600, 600]);
    expect(seq({ retryBackoff: true, retryBackoffMax: 30 })).toEqual([1, 2, 4, 8, 16, 30, 30, 30, 30, 30, 30, 30]);
  });

  it('matches celery.utils.time.get_exponential_backoff_interval (run by /usr/bin/python3)', () => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: this check needs python3-celery.`);
    const cases = [1, 2, 5].flatMap((factor) => [600, 100].flatMap((maximum) => Array.from({ length: 14 }, (_, retries) => ({ factor, maximum, retries }))));
    const script = [
      'import json, sys',
      'from celery.utils.time import get_exponential_backoff_interval as f',
      'print(json.dumps([f(c["factor"], c["retries"], c["maximum"], False) for c in json.load(sys.stdin)]))',
    ].join('\n');
    const py = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(cases), encoding: 'utf8' });
    if (py.status !== 0) throw new Error(`python3 failed: ${py.stderr}`);
    const ours = cases.map((c) => autoretryCountdown({ retryBackoff: c.factor, retryBackoffMax: c.maximum, retryJitter: false }, c.retries));
    expect(ours).toEqual(JSON.parse(py.stdout));
  });

  it('applies full jitter by default: whole seconds from 0 to the computed delay inclusive (random.randrange(n + 1))', () => {
    // retries 3, factor 1 → 8 s before jitter
    expect(autoretryCountdown({ retryBackoff: true }, 3, () => 0)).toBe(0);
    expect(autoretryCountdown({ retryBackoff: true }, 3, () => 0.5)).toBe(4);
    expect(autoretryCountdown({ retryBackoff: true }, 3, () => 0.999999)).toBe(8);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const v = autoretryCountdown({ retryBackoff: true }, 3);
      expect(Number.isInteger(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(8);
      seen.add(v);
    }
    expect(seen.size).toBe(9);
  });

  it('jitter never exceeds the cap', () => {
    expect(autoretryCountdown({ retryBackoff: true, retryBackoffMax: 10 }, 20, () => 0.999999)).toBe(10);
  });

  it('a fractional factor keeps a fractional jitter within [0, delay)', () => {
    expect(autoretryCountdown({ retryBackoff: 0.5, retryJitter: false }, 1)).toBe(1);
    expect(autoretryCountdown({ retryBackoff: 0.25, retryJitter: false }, 1)).toBe(0.5);
    expect(autoretryCountdown({ retryBackoff: 0.25 }, 1, () => 0.5)).toBe(0.25);
  });

  it('is never negative', () => {
    expect(autoretryCountdown({ retryBackoff: true }, 0, () => 0)).toBe(0);
  });
});
