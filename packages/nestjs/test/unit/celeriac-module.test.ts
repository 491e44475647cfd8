import { ConfigError, type BeatEntryConfig, type Celeriac } from '@celeriac/core';
import { CELERIAC_APP, CeleriacExplorer, CeleriacLifecycle, CeleriacModule, CeleriacTestingModule, DuplicateTaskError, Periodic, Task } from '@celeriac/nestjs';
import { resolveRoles } from '../../src/celeriac-app.factory';
import { Injectable, Logger, Module, Scope } from '@nestjs/common';
import { ConfigModule, ConfigService, registerAs } from '@nestjs/config';
import { Test, type TestingModule } from '@nestjs/testing';
import { BillingModule, MathModule, MathTasks } from './fixtures';

const opened: TestingModule[] = [];
async function boot(imports: NonNullable<Parameters<typeof Test.createTestingModule>[0]['imports']>, providers: NonNullable<Parameters<typeof Test.createTestingModule>[0]['providers']> = []): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({ imports, providers }).compile();
  opened.push(moduleRef);
  await moduleRef.init();
  return moduleRef;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((m) => m.close()));
  jest.restoreAllMocks();
});

describe('CeleriacModule', () => {
  it('discovers @Task methods across modules and runs them with their provider (DI)', async () => {
    const moduleRef = await boot([CeleriacTestingModule.forRoot({ mode: 'eager' }), BillingModule, MathModule]);
    const app = moduleRef.get<Celeriac>(CELERIAC_APP);
    expect(app.tasks.names()).toEqual(expect.arrayContaining(['billing.charge', 'math.add', 'MathTasks.multiply']));
    expect(app.tasks.has('MathTasks.notATask')).toBe(false);
    const charge = app.tasks.get('billing.charge')!;
    await expect((await charge.delay('acme', 3)).get()).resolves.toBe('acme:30');
    const explorer = moduleRef.get(CeleriacExplorer);
    expect(explorer.getTasks().map((t) => t.location)).toEqual(expect.arrayContaining(['BillingTasks#charge', 'MathTasks#add']));
  });

  it('binds Celery kwargs by the method parameter names', async () => {
    const moduleRef = await boot([CeleriacTestingModule.forRoot({ mode: 'eager' }), BillingModule]);
    const charge = moduleRef.get<Celeriac>(CELERIAC_APP).tasks.get('billing.charge')!;
    expect(charge.params).toEqual(['customer', 'units']);
    const result = await charge.applyAsync([], { kwargs: { units: 2, customer: 'bob' } });
    await expect(result.get()).resolves.toBe('bob:20');
  });

  it('names a task <ClassName>.<methodName> by default', async () => {
    const moduleRef = await boot([CeleriacTestingModule.forRoot(), MathModule]);
    const app = moduleRef.get<Celeriac>(CELERIAC_APP);
    const multiply = app.tasks.get('MathTasks.multiply')!;
    expect(multiply.options.maxRetries).toBe(0);
    await expect((await multiply.delay(6, 7)).get()).resolves.toBe(42);
  });

  it('reads options from @nestjs/config under a namespace with forRootAsync', async () => {
    const celeriacConfig = registerAs('celeriac', () => ({ brokerUrl: 'memory://async-config', taskDefaultQueue: 'from-config', envPrefix: false as const }));
    const moduleRef = await boot([
      ConfigModule.forRoot({ load: [celeriacConfig], ignoreEnvFile: true }),
      CeleriacModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (config: ConfigService) => config.get('celeriac')! }),
      MathModule,
    ]);
    const app = moduleRef.get<Celeriac>(CELERIAC_APP);
    expect(app.conf.taskDefaultQueue).toBe('from-config');
    expect(app.tasks.has('math.add')).toBe(true);
  });

  it('accepts registerAs(...).asProvider() as forRootAsync options', async () => {
    const celeriacConfig = registerAs('celeriac', () => ({ brokerUrl: 'memory://as-provider', taskDefaultQueue: 'ns-queue', envPrefix: false as const }));
    const moduleRef = await boot([ConfigModule.forRoot({ ignoreEnvFile: true }), CeleriacModule.forRootAsync(celeriacConfig.asProvider())]);
    expect(moduleRef.get<Celeriac>(CELERIAC_APP).conf.taskDefaultQueue).toBe('ns-queue');
  });

  it('fills unset settings from env vars with the configured prefix; options win', async () => {
    const env = { MYAPP_TASK_DEFAULT_QUEUE: 'q', MYAPP_WORKER_CONCURRENCY: '3', CELERIAC_TASK_DEFAULT_QUEUE: 'ignored' };
    const a = await boot([CeleriacModule.forRoot({ envPrefix: 'MYAPP_', env, brokerUrl: 'memory://env-a' })]);
    expect(a.get<Celeriac>(CELERIAC_APP).conf.taskDefaultQueue).toBe('q');
    expect(a.get<Celeriac>(CELERIAC_APP).conf.workerConcurrency).toBe(3);
    const b = await boot([CeleriacModule.forRoot({ envPrefix: 'MYAPP_', env, brokerUrl: 'memory://env-b', taskDefaultQueue: 'explicit' })]);
    expect(b.get<Celeriac>(CELERIAC_APP).conf.taskDefaultQueue).toBe('explicit');
    const c = await boot([CeleriacModule.forRoot({ env: { CELERIAC_TASK_DEFAULT_QUEUE: 'default-prefix' }, brokerUrl: 'memory://env-c' })]);
    expect(c.get<Celeriac>(CELERIAC_APP).conf.taskDefaultQueue).toBe('default-prefix');
  });

  it('fails the app start with a ConfigError naming the bad key', async () => {
    const compile = (options: Parameters<typeof CeleriacModule.forRoot>[0]) => Test.createTestingModule({ imports: [CeleriacModule.forRoot(options)] }).compile();
    await expect(compile({ envPrefix: false, taskDefaultQueu: 'x' } as never)).rejects.toThrow(expect.objectContaining({ name: 'ConfigError', key: 'taskDefaultQueu', message: expect.stringContaining('taskDefaultQueue') }));
    await expect(compile({ envPrefix: false, workerConcurrency: 'many' as never })).rejects.toThrow(ConfigError);
    await expect(compile({ envPrefix: 'MYAPP_', env: { MYAPP_WORKER_CONCURRENCY: 'lots' } })).rejects.toThrow(expect.objectContaining({ key: 'MYAPP_WORKER_CONCURRENCY' }));
    await expect(compile({ envPrefix: false, roles: ['scheduler' as never] })).rejects.toThrow(expect.objectContaining({ key: 'roles' }));
    await expect(compile({ env: { CELERIAC_ROLES: 'worker,sheduler' }, brokerUrl: 'memory://roles-bad' })).rejects.toThrow(expect.objectContaining({ key: 'CELERIAC_ROLES', message: expect.stringContaining('"sheduler"') }));
  });

  it('takes the roles from <envPrefix>ROLES when the options give none; options win', () => {
    expect(resolveRoles({ env: { CELERIAC_ROLES: ' worker , beat ' } })).toEqual(['worker', 'beat']);
    expect(resolveRoles({ envPrefix: 'MYAPP_', env: { MYAPP_ROLES: 'beat', CELERIAC_ROLES: 'worker' } })).toEqual(['beat']);
    expect(resolveRoles({ roles: ['producer'], env: { CELERIAC_ROLES: 'worker' } })).toEqual(['producer']);
    expect(resolveRoles({ envPrefix: false, env: { CELERIAC_ROLES: 'worker' } })).toEqual(['producer']);
    expect(() => resolveRoles({ env: { CELERIAC_ROLES: ' , ' } })).toThrow(expect.objectContaining({ key: 'CELERIAC_ROLES' }));
  });

  it('rejects duplicate task names, naming both definitions', async () => {
    @Injectable()
    class OtherMath {
      @Task('math.add') plus(x: number, y: number) {
        return x + y;
      }
    }
    const moduleRef = await Test.createTestingModule({ imports: [CeleriacTestingModule.forRoot(), MathModule], providers: [OtherMath] }).compile();
    const error = await moduleRef.init().then(
      () => undefined,
      (err: unknown) => err,
    );
    await moduleRef.close().catch(() => undefined);
    expect(error).toBeInstanceOf(DuplicateTaskError);
    expect((error as Error).message).toMatch(/MathTasks#add/);
    expect((error as Error).message).toMatch(/OtherMath#plus/);
  });

  it('names the modules when one class is provided by two modules', async () => {
    @Module({ providers: [MathTasks] })
    class SecondMathModule {}
    const moduleRef = await Test.createTestingModule({ imports: [CeleriacTestingModule.forRoot(), MathModule, SecondMathModule] }).compile();
    const error = await moduleRef.init().then(
      () => undefined,
      (err: unknown) => err,
    );
    await moduleRef.close().catch(() => undefined);
    expect(error).toBeInstanceOf(DuplicateTaskError);
    expect((error as DuplicateTaskError).locations).toEqual(expect.arrayContaining(['MathTasks#add in MathModule', 'MathTasks#add in SecondMathModule']));
  });

  it('skips request-scoped providers with a warning naming Class#method', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {
      @Task('per.request') run() {
        return 1;
      }
    }
    @Module({ providers: [PerRequest] })
    class PerRequestModule {}
    const moduleRef = await boot([CeleriacTestingModule.forRoot(), PerRequestModule]);
    expect(moduleRef.get<Celeriac>(CELERIAC_APP).tasks.has('per.request')).toBe(false);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('PerRequest#run'));
  });

  it('discovers tasks on useValue and useFactory providers by their constructor', async () => {
    const moduleRef = await boot([CeleriacTestingModule.forRoot()], [{ provide: 'math', useFactory: () => new MathTasks() }]);
    const explorer = moduleRef.get(CeleriacExplorer);
    expect(explorer.getTasks().find((t) => t.name === 'math.add')?.location).toBe('MathTasks#add');
  });
});

describe('role beat', () => {
  it('runs the @Periodic schedules: beat sends them, the worker runs them with DI; both stop on close', async () => {
    const ticks: string[] = [];
    @Injectable()
    class Clock {
      now(): string {
        return 'tick';
      }
    }
    @Injectable()
    class PeriodicTasks {
      constructor(private readonly clock: Clock) {}
      @Task('periodic.tick')
      @Periodic({ every: '150ms' }, { args: ['a'] })
      async tick(label: string): Promise<void> {
        ticks.push(`${this.clock.now()}:${label}`);
      }
      @Task('periodic.never')
      @Periodic({ crontab: { minute: 0, hour: 0, dayOfMonth: 1, monthOfYear: 1 } }, { enabled: false })
      async never(): Promise<void> {
        ticks.push('never');
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [CeleriacModule.forRoot({ envPrefix: false, brokerUrl: 'memory://beat-role', resultBackend: 'memory://beat-role', beatStore: 'memory', roles: ['worker', 'beat'], workerLogLevel: 'silent' })],
      providers: [Clock, PeriodicTasks],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const lifecycle = app.get(CeleriacLifecycle);
    expect(lifecycle.beat!.entries.map((e) => e.name).sort()).toEqual(['periodic.never', 'periodic.tick']);
    for (let i = 0; i < 300 && ticks.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(ticks.slice(0, 2)).toEqual(['tick:a', 'tick:a']);
    await app.close();
    expect(lifecycle.beat).toBeUndefined();
    const after = ticks.length;
    await new Promise((r) => setTimeout(r, 400));
    expect(ticks.length).toBe(after);
    expect(ticks).not.toContain('never');
  });

  it('runs the beat role with the beatScheduler option instead of core Beat, handing it the @Periodic entries', async () => {
    const calls: string[] = [];
    let received: Record<string, BeatEntryConfig> = {};
    @Injectable()
    class Reports {
      @Task('reports.nightly')
      @Periodic({ crontab: '0 3 * * *', timezone: 'Europe/Paris' }, { queue: 'reports', args: [7] })
      async nightly(days: number): Promise<number> {
        return days;
      }
    }
    class FakeScheduler {
      async start(): Promise<void> {
        calls.push('start');
      }
      async close(): Promise<void> {
        calls.push('close');
      }
      on(): this {
        return this;
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [
        CeleriacModule.forRoot({
          envPrefix: false,
          brokerUrl: 'memory://beat-scheduler-option',
          roles: ['beat'],
          workerLogLevel: 'silent',
          beatScheduler: (_app, entries) => {
            received = entries;
            return new FakeScheduler();
          },
        }),
      ],
      providers: [Reports],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const lifecycle = app.get(CeleriacLifecycle);
    expect(lifecycle.beatService).toBeInstanceOf(FakeScheduler);
    expect(lifecycle.beat).toBeUndefined();
    expect(received).toEqual({
      'reports.nightly': { task: 'reports.nightly', schedule: { crontab: '0 3 * * *', timezone: 'Europe/Paris' }, args: [7], kwargs: {}, options: { queue: 'reports' }, enabled: true },
    });
    await app.close();
    expect(calls).toEqual(['start', 'close']);
  });

  it('rejects a crontab field out of range when the class is defined', () => {
    expect(() => Periodic({ crontab: '61 * * * *' })).toThrow(ConfigError);
    expect(() => Periodic({ crontab: { hour: 25 } })).toThrow(/hour/);
  });
});
