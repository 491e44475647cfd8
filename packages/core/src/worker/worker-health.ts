/**
 * A worker's health as a liveness/readiness probe sees it: healthy only while the worker has started
 * and its broker subscription is connected and consuming every queue. Used by `--health-port`
 * (health-server.ts) and by framework integrations (the Nest terminus indicator).
 */
import type { ConsumerStatus } from '../brokers/broker';

/** Where a worker is in its life. */
export type WorkerLifecycle = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface WorkerHealth {
  /** True only while running and consuming. */
  healthy: boolean;
  lifecycle: WorkerLifecycle;
  hostname: string;
  /** The queues this worker consumes. */
  queues: string[];
  /** Why it is not healthy. */
  reason?: string;
  /** Tasks running now. */
  active: number;
  /** Tasks finished since start. */
  processed: number;
  /** Seconds since start (0 before). */
  uptimeSeconds: number;
}

/** The facts a health report is made of. */
export interface HealthFacts {
  lifecycle: WorkerLifecycle;
  hostname: string;
  queues: readonly string[];
  /** The subscription's own report; undefined when its broker cannot tell (taken as consuming). */
  consumer: ConsumerStatus | undefined;
  active: number;
  processed: number;
  startedAtMs: number | null;
}

export function describeHealth(facts: HealthFacts, now = Date.now()): WorkerHealth {
  const base = {
    lifecycle: facts.lifecycle,
    hostname: facts.hostname,
    queues: [...facts.queues],
    active: facts.active,
    processed: facts.processed,
    uptimeSeconds: facts.startedAtMs === null ? 0 : Math.max(0, (now - facts.startedAtMs) / 1000),
  };
  if (facts.lifecycle !== 'running') return { ...base, healthy: false, reason: `worker is ${facts.lifecycle}` };
  const consumer = facts.consumer ?? { consuming: true };
  if (!consumer.consuming) return { ...base, healthy: false, reason: `not consuming: ${consumer.reason ?? 'unknown'}` };
  return { ...base, healthy: true };
}
