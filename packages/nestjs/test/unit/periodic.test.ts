import { ConfigError } from '@celeriac/core';
import { CeleriacExplorer, CeleriacTestingModule, Periodic, Task, parseEvery } from '@celeriac/nestjs';
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';

@Injectable()
class ScheduledTasks {
  @Task('reports.nightly')
  @Periodic({ crontab: '0 3 * * *', timezone: 'Europe/Paris' }, { queue: 'reports' })
  async nightly() {
    return 'ok';
  }

  @Task('cache.refresh')
  @Periodic({ every: '5m' }, { args: ['all'], name: 'refresh-all' })
  async refresh(scope: string) {
    return scope;
  }

  @Task('sun.rise')
  @Periodic({ solar: 'sunrise', lat: 48.85, lon: 2.35 }, { enabled: false })
  async rise() {}

  @Task('once.only')
  @Periodic({ clocked: new Date('2030-01-01T00:00:00Z') }, { kwargs: { reason: 'launch' } })
  async once(reason: string) {
    return reason;
  }
}

describe('@Periodic', () => {
  it('stores schedules that the explorer exposes for beat', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [CeleriacTestingModule.forRoot()], providers: [ScheduledTasks] }).compile();
    await moduleRef.init();
    const schedules = moduleRef.get(CeleriacExplorer).getPeriodicSchedules();
    await moduleRef.close();
    const byTask = Object.fromEntries(schedules.map((s) => [s.taskName, s]));
    expect(byTask['reports.nightly']).toMatchObject({ name: 'reports.nightly', schedule: { crontab: '0 3 * * *', timezone: 'Europe/Paris' }, queue: 'reports', enabled: true, args: [], kwargs: {}, location: 'ScheduledTasks#nightly' });
    expect(byTask['cache.refresh']).toMatchObject({ name: 'refresh-all', schedule: { every: '5m' }, intervalMs: 300_000, args: ['all'] });
    expect(byTask['sun.rise']).toMatchObject({ schedule: { solar: 'sunrise', lat: 48.85, lon: 2.35 }, enabled: false });
    expect(byTask['once.only']).toMatchObject({ schedule: { clocked: new Date('2030-01-01T00:00:00Z') }, kwargs: { reason: 'launch' } });
  });

  it('parses intervals', () => {
    expect(parseEvery(1500)).toBe(1500);
    expect(parseEvery('30s')).toBe(30_000);
    expect(parseEvery('1h')).toBe(3_600_000);
    expect(parseEvery('250ms')).toBe(250);
  });

  it('rejects an invalid schedule when the class is defined, naming the key', () => {
    expect(() => Periodic({ every: 'soon' })).toThrow(expect.objectContaining({ key: 'every' }));
    expect(() => Periodic({ every: -5 })).toThrow(ConfigError);
    expect(() => Periodic({ crontab: '0 3 * *' })).toThrow(expect.objectContaining({ key: 'crontab' }));
    expect(() => Periodic({ crontab: '0 3 * * *', timezone: 'Mars/Olympus' })).toThrow(expect.objectContaining({ key: 'timezone' }));
    expect(() => Periodic(JSON.parse('{"solar":"noonish","lat":0,"lon":0}'))).toThrow(expect.objectContaining({ key: 'solar' }));
    expect(() => Periodic({ solar: 'sunset', lat: 91, lon: 0 })).toThrow(expect.objectContaining({ key: 'lat' }));
    expect(() => Periodic({ clocked: new Date('nope') })).toThrow(expect.objectContaining({ key: 'clocked' }));
    expect(() => Periodic({ every: '5m', crontab: '* * * * *' })).toThrow(/exactly one/);
    expect(() => Periodic({ every: '5m' }, { args: 'x' as never })).toThrow(expect.objectContaining({ key: 'args' }));
  });

  it('requires @Task next to @Periodic', async () => {
    @Injectable()
    class NoTask {
      @Periodic({ every: '1m' }) tick() {}
    }
    const moduleRef = await Test.createTestingModule({ imports: [CeleriacTestingModule.forRoot()], providers: [NoTask] }).compile();
    await expect(moduleRef.init()).rejects.toThrow(/NoTask#tick.*@Task/);
    await moduleRef.close().catch(() => undefined);
  });
});
