import { Inject, Injectable } from '@nestjs/common';
import { CeleriacLifecycle } from './celeriac.lifecycle';

/** One indicator's entry in a @nestjs/terminus health check (its HealthIndicatorResult shape). */
export type CeleriacHealthResult = Record<string, { status: 'up' | 'down'; [detail: string]: unknown }>;

/**
 * A health indicator for @nestjs/terminus (11 or later), with no dependency on it: `down` results
 * make terminus answer 503. Up while this process's worker (role `worker`) is running and its broker
 * subscription connected and consuming; a process without the worker role has nothing to consume
 * and is up (the details say so).
 * @example
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.celeriac.isHealthy('celeriac')]); }
 */
@Injectable()
export class CeleriacHealthIndicator {
  constructor(@Inject(CeleriacLifecycle) private readonly lifecycle: CeleriacLifecycle) {}

  async isHealthy(key = 'celeriac'): Promise<CeleriacHealthResult> {
    const roles = [...this.lifecycle.roles];
    if (!roles.includes('worker')) return { [key]: { status: 'up', roles, worker: 'none in this process' } };
    const worker = this.lifecycle.worker;
    if (!worker) return { [key]: { status: 'down', roles, reason: 'worker not started' } };
    const health = worker.health();
    const { healthy, ...details } = health;
    return { [key]: { status: healthy ? 'up' : 'down', roles, ...details } };
  }
}
