/**
 * The database leader lease on SQLite, PostgreSQL and MariaDB: one leader among several beats; a
 * closed leader hands over at once; a leader that can no longer renew (its database connection is
 * gone, as when its process hangs or dies) stops leading and another takes over within the lease
 * time; and database schedulers on it send only from the leader.
 */
import { MemoryBroker, MemoryKeyValueStore } from '@celeriac/core';
import type { DataSource } from 'typeorm';
import { createBeatDataSource } from '../../src/data-source';
import { BeatLeaseEntity } from '../../src/entities';
import { DatabaseLeaseCoordinator } from '../../src/scheduler';
import { DATABASE_KINDS, useTestDatabase } from '../helpers/test-database';
import { SchedulerHarness } from '../helpers/scheduler-harness';
import { waitFor } from '../../../core/test/helpers/wait';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

// Long enough that a loaded test machine does not pause a renewal past it.
const LEASE_SECONDS = 1.5;

describe.each(DATABASE_KINDS)('DatabaseLeaseCoordinator on %s', (kind) => {
  const db = useTestDatabase(kind);
  const sources: DataSource[] = [];
  const coordinators: DatabaseLeaseCoordinator[] = [];
  let h: SchedulerHarness | undefined;

  /** A coordinator on a connection of its own, as another process would have. */
  async function coordinator(leaseName = 'default', start = true): Promise<{ c: DatabaseLeaseCoordinator; changes: boolean[]; ds: DataSource }> {
    const ds = createBeatDataSource({ url: db.url });
    await ds.initialize();
    sources.push(ds);
    const c = new DatabaseLeaseCoordinator(ds, { leaseTime: LEASE_SECONDS, leaseName });
    coordinators.push(c);
    const changes: boolean[] = [];
    if (start) await c.start((leader) => changes.push(leader));
    return { c, changes, ds };
  }

  afterEach(async () => {
    await h?.close();
    h = undefined;
    for (const c of coordinators.splice(0)) await c.stop();
    for (const ds of sources.splice(0)) if (ds.isInitialized) await ds.destroy();
  });

  it('elects one leader among three beats, and says who holds it in the lease row', async () => {
    const beats = [await coordinator(), await coordinator(), await coordinator()];
    expect(beats.map((b) => b.c.isLeader())).toEqual([true, false, false]);
    expect(beats[0]!.changes).toEqual([true]);
    const row = await db.dataSource.getRepository(BeatLeaseEntity).findOneByOrFail({ name: 'default' });
    expect(row.holder).toBe(beats[0]!.c.holder);
    expect(row.expiresAt).toBeGreaterThan(Date.now());
    // Renewals keep it: after one and a half lease times it is still the only leader.
    const until = Date.now() + 1.5 * LEASE_SECONDS * 1000;
    await waitFor(() => Date.now() > until, 5000, 'a lease time and a half');
    expect(beats.map((b) => b.c.isLeader())).toEqual([true, false, false]);
    expect(beats[0]!.changes).toEqual([true]);
  });

  it('hands over at once when the leader stops, and another lease name has its own leader', async () => {
    const first = await coordinator();
    const second = await coordinator();
    const elsewhere = await coordinator('reports');
    expect(elsewhere.c.isLeader()).toBe(true);
    const stoppedAt = Date.now();
    await first.c.stop();
    expect(first.changes).toEqual([true, false]);
    await waitFor(() => second.c.isLeader(), LEASE_SECONDS * 1000, 'the second beat to lead');
    expect(Date.now() - stoppedAt).toBeLessThan(LEASE_SECONDS * 1000);
    expect(second.changes).toEqual([true]);
  });

  it('takes over within the lease time after the leader can no longer renew', async () => {
    const first = await coordinator();
    const second = await coordinator();
    expect([first.c.isLeader(), second.c.isLeader()]).toEqual([true, false]);
    const lostAt = Date.now();
    await first.ds.destroy(); // renewals now fail
    await waitFor(() => !first.c.isLeader(), 3 * LEASE_SECONDS * 1000, 'the first beat to stop leading');
    await waitFor(() => second.c.isLeader(), 3 * LEASE_SECONDS * 1000, 'the second beat to take over');
    // Within the lease after its last renewal, plus a renewal period and the poll of the wait.
    expect(Date.now() - lostAt).toBeLessThan(2 * LEASE_SECONDS * 1000 + 500);
    // isLeader() turns false by the clock at expiry; the change is reported by the next lease step, just after.
    await waitFor(() => first.changes.length === 2, LEASE_SECONDS * 1000, 'the first beat to report the loss');
    expect(first.changes).toEqual([true, false]);
  });

  it('makes only the leader among database schedulers send, and the other send after it closes', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:00:00Z');
    await h.addTask('tick', { kind: 'interval', every: 10, period: 'seconds' });
    const leases = [await coordinator('default', false), await coordinator('default', false)]; // the schedulers start them
    const a = await h.scheduler({ coordinator: leases[0]!.c });
    const b = await h.scheduler({ coordinator: leases[1]!.c });
    for (const t of ['10:00:00', '10:00:10']) {
      h.t = Date.parse(`2026-01-01T${t}Z`);
      await Promise.all([a.tick(), b.tick()]);
    }
    expect(h.sentAt('tick')).toEqual(['2026-01-01T10:00:10.000Z']);
    await a.close();
    await waitFor(() => b.isLeader, LEASE_SECONDS * 1000, 'b to lead');
    await h.at('2026-01-01T10:00:20Z', b);
    expect(h.sentAt('tick')).toEqual(['2026-01-01T10:00:10.000Z', '2026-01-01T10:00:20.000Z']);
  });
});
