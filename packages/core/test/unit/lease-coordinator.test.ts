/**
 * LeaseCoordinator's loop (shared by the Redis and database leases), over a lease kept in memory and
 * fake timers: one leader; a stopped leader hands over at the follower's next try; a follower times
 * that try by the holder's remaining lease; a leader whose store is unreachable leads until its own
 * lease runs out; a renewal that comes after the lease ran out (a paused process) ends leadership
 * even though the store would accept it; a lease that ran out just after a refused take is tried
 * again at once; a throwing leadership listener does not stop the loop.
 */
import pino from 'pino';
import { LeaseCoordinator } from '../../src';

/** One lease, as a store would keep it. */
class MemoryLease {
  holder: string | null = null;
  expiresAt = 0;
  reachable = true;
  /** Takes refused regardless (as when the lease ran out between a refused take and the read after it). */
  refuseTakes = 0;

  check(): void {
    if (!this.reachable) throw new Error('store unreachable');
  }
}

class MemoryLeaseCoordinator extends LeaseCoordinator {
  constructor(
    private readonly lease: MemoryLease,
    leaseMs: number,
    lines: Array<{ msg: string; holder: string }>,
  ) {
    const stream = { write: (s: string) => void lines.push(JSON.parse(s) as { msg: string; holder: string }) };
    super({ leaseMs, logger: pino({ level: 'info' }, stream), store: 'the memory store', label: 'Test beat' });
  }

  protected async take(now: number): Promise<boolean> {
    this.lease.check();
    if (this.lease.refuseTakes > 0) {
      this.lease.refuseTakes--;
      return false;
    }
    if (this.lease.holder !== null && this.lease.holder !== this.holder && this.lease.expiresAt > now) return false;
    this.lease.holder = this.holder;
    this.lease.expiresAt = now + this.leaseMs;
    return true;
  }

  protected async renew(now: number): Promise<boolean> {
    this.lease.check();
    if (this.lease.holder !== this.holder) return false;
    this.lease.expiresAt = now + this.leaseMs;
    return true;
  }

  protected async remainingMs(): Promise<number | null> {
    this.lease.check();
    return this.lease.holder === null ? null : this.lease.expiresAt - Date.now();
  }

  protected async release(): Promise<void> {
    this.lease.check();
    if (this.lease.holder === this.holder) this.lease.holder = null;
  }

  async claim(): Promise<boolean> {
    return true;
  }

  async unclaim(): Promise<void> {}
}

const LEASE_MS = 3000;
let lease: MemoryLease;
let lines: Array<{ msg: string; holder: string }>;
let started: MemoryLeaseCoordinator[];

function coordinator(): { c: MemoryLeaseCoordinator; changes: boolean[] } {
  const c = new MemoryLeaseCoordinator(lease, LEASE_MS, lines);
  started.push(c);
  const changes: boolean[] = [];
  return { c, changes };
}

async function start(x: { c: MemoryLeaseCoordinator; changes: boolean[] }, listener?: (leader: boolean) => void): Promise<void> {
  await x.c.start((leader) => {
    x.changes.push(leader);
    listener?.(leader);
  });
}

/** Runs the timers due within `ms` and the promise chains they start. */
async function advance(ms: number): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
}

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
  lease = new MemoryLease();
  lines = [];
  started = [];
});

afterEach(async () => {
  lease.reachable = true;
  for (const c of started) await c.stop();
  jest.useRealTimers();
});

it('elects one leader; a stopped leader releases the lease and the follower takes it at its next try', async () => {
  const a = coordinator();
  const b = coordinator();
  await start(a);
  await start(b);
  expect([a.c.isLeader(), b.c.isLeader()]).toEqual([true, false]);
  expect(lease.holder).toBe(a.c.holder);
  // The leader renews every third of the lease: it stays leader far past one lease time.
  await advance(LEASE_MS * 3);
  expect([a.c.isLeader(), b.c.isLeader()]).toEqual([true, false]);
  expect(lease.expiresAt).toBeGreaterThan(Date.now() + LEASE_MS / 2);
  await a.c.stop();
  expect(a.changes).toEqual([true, false]);
  expect(lease.holder).toBeNull();
  await advance(LEASE_MS / 3);
  expect(b.c.isLeader()).toBe(true);
  expect(b.changes).toEqual([true]);
  expect(lines.map((l) => l.msg)).toEqual(['Test beat is now the leader', 'Test beat is no longer the leader: stopped', 'Test beat is now the leader']);
  expect(lines.map((l) => l.holder)).toEqual([a.c.holder, a.c.holder, b.c.holder]);
});

it("a follower times its next try by the holder's remaining lease, not only every third of the lease", async () => {
  // A holder that is gone (no renewals) with 200 ms of its lease left.
  lease.holder = 'gone:1:x';
  lease.expiresAt = Date.now() + 200;
  const b = coordinator();
  await start(b);
  expect(b.c.isLeader()).toBe(false);
  await advance(210);
  expect(b.c.isLeader()).toBe(true);
});

it('a leader whose store is unreachable leads until its own lease runs out, then steps down', async () => {
  const a = coordinator();
  await start(a);
  lease.reachable = false;
  await advance(LEASE_MS - 50);
  expect(a.c.isLeader()).toBe(true);
  await advance(100);
  expect(a.c.isLeader()).toBe(false);
  expect(a.changes).toEqual([true, false]);
  expect(lines.map((l) => l.msg)).toContain('Test beat could not reach the memory store for its lease');
  const stepDowns = lines.filter((l) => l.msg.startsWith('Test beat is no longer the leader'));
  expect(stepDowns.map((l) => l.msg)).toEqual(['Test beat is no longer the leader: its lease ran out while the memory store was unreachable']);
  // Back: it takes the lease again within a second (retries are at most a second apart meanwhile).
  lease.reachable = true;
  await advance(1000);
  expect(a.c.isLeader()).toBe(true);
});

it('a renewal that comes after the lease ran out (the process was paused) ends leadership, though the store would renew', async () => {
  const a = coordinator();
  await start(a);
  // The clock jumps past the lease with no timer having run: as if the process was stopped.
  jest.setSystemTime(Date.now() + LEASE_MS + 500);
  expect(a.c.isLeader()).toBe(false);
  await advance(0);
  await advance(LEASE_MS / 3);
  expect(a.changes.slice(0, 2)).toEqual([true, false]);
  expect(lines.map((l) => l.msg)).toContain('Test beat is no longer the leader: its renewal came after the lease ran out');
  // Then, like any follower, it takes the lease it still holds in the store.
  expect(a.c.isLeader()).toBe(true);
  expect(a.changes).toEqual([true, false, true]);
});

it("a follower whose holder's lease ran out just after its refused take tries again at once", async () => {
  lease.holder = 'gone:1:x';
  lease.expiresAt = Date.now() - 1;
  lease.refuseTakes = 1;
  const b = coordinator();
  await start(b);
  expect(b.c.isLeader()).toBe(false);
  await advance(20);
  expect(b.c.isLeader()).toBe(true);
});

it('a leadership listener that throws does not stop the lease loop', async () => {
  const a = coordinator();
  await start(a, () => {
    throw new Error('listener broke');
  });
  expect(a.c.isLeader()).toBe(true);
  expect(lines.map((l) => l.msg)).toContain('Test beat: a leadership listener threw');
  // It goes on renewing: still the leader after three lease times.
  await advance(LEASE_MS * 3);
  expect(a.c.isLeader()).toBe(true);
  expect(lease.expiresAt).toBeGreaterThan(Date.now() + LEASE_MS / 2);
});
