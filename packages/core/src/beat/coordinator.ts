/**
 * Who may send: with several beats running, one leader sends and each scheduled run is claimed once.
 * `LocalCoordinator` is for a single beat (always leader, claims in memory); `RedisCoordinator` is the
 * lease and run claims in Redis.
 */

/** Leadership and per-run claims. */
export interface BeatCoordinator {
  /** Starts taking (or waiting for) the lease; `onChange` hears every gain and loss. */
  start(onChange: (leader: boolean) => void): Promise<void>;
  /** Whether this beat holds an unexpired lease now. */
  isLeader(): boolean;
  /**
   * Claims one scheduled run of an entry for `ttlMs`; false when it was already claimed (sent by
   * this or another beat). The run's scheduled time is the claim's name, so beats agree on it.
   */
  claim(entry: string, runAt: Date, ttlMs: number): Promise<boolean>;
  /** Gives a claim back (the send failed, so a later tick may try again). */
  unclaim(entry: string, runAt: Date): Promise<void>;
  /** Stops and gives up the lease, so another beat takes over at once. */
  stop(): Promise<void>;
}

/** One beat alone: always the leader. */
export class LocalCoordinator implements BeatCoordinator {
  private readonly claims = new Map<string, number>();
  private running = false;

  async start(onChange: (leader: boolean) => void): Promise<void> {
    this.running = true;
    onChange(true);
  }

  isLeader(): boolean {
    return this.running;
  }

  async claim(entry: string, runAt: Date, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    for (const [key, until] of this.claims) if (until <= now) this.claims.delete(key);
    const key = `${entry}\u0000${runAt.toISOString()}`;
    if (this.claims.has(key)) return false;
    this.claims.set(key, now + ttlMs);
    return true;
  }

  async unclaim(entry: string, runAt: Date): Promise<void> {
    this.claims.delete(`${entry}\u0000${runAt.toISOString()}`);
  }

  async stop(): Promise<void> {
    this.running = false;
  }
}
