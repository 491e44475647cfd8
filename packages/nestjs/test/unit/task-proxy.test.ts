import { once } from 'node:events';
import { Worker, type Celeriac } from '@celeriac/core';
import { CELERIAC_APP, CeleriacLifecycle, CeleriacModule, CeleriacTestingModule, InjectCeleriac, InjectTasks, Task, waitForTask, type TaskProxy } from '@celeriac/nestjs';
import { Injectable, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';

@Injectable()
class Outbox {
  readonly sent: string[] = [];
}

@Injectable()
class MailService {
  constructor(private readonly outbox: Outbox) {}

  @Task('mail.send')
  async send(to: string, body: string): Promise<number> {
    this.outbox.sent.push(`${to}: ${body}`);
    return this.outbox.sent.length;
  }
}

@Module({ providers: [Outbox, MailService], exports: [Outbox] })
class MailModule {}

@Injectable()
class SignupService {
  constructor(
    @InjectTasks(MailService) readonly mail: TaskProxy<MailService>,
    @InjectCeleriac() readonly app: Celeriac,
  ) {}

  welcome(to: string) {
    return this.mail.send.delay(to, 'welcome');
  }
}

@Module({ imports: [CeleriacModule.forFeature([MailService])], providers: [SignupService] })
class SignupModule {}

let release: () => void = () => undefined;
let finished = false;

@Injectable()
class SlowTasks {
  @Task('slow.run')
  async run(): Promise<string> {
    await new Promise<void>((resolve) => (release = resolve));
    finished = true;
    return 'done';
  }
}

const opened: TestingModule[] = [];
async function boot(mode: 'eager' | 'worker', ...extra: Array<NonNullable<Parameters<typeof Test.createTestingModule>[0]['imports']>[number]>): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({ imports: [CeleriacTestingModule.forRoot({ mode }), MailModule, SignupModule, ...extra] }).compile();
  opened.push(moduleRef);
  await moduleRef.init();
  return moduleRef;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((m) => m.close()));
  jest.restoreAllMocks();
});

describe('@InjectTasks', () => {
  it('delay() sends the task to the in-process worker, which runs the method with DI; get() returns its value', async () => {
    const moduleRef = await boot('worker');
    expect(moduleRef.get(CeleriacLifecycle).worker).toBeInstanceOf(Worker);
    const signup = moduleRef.get(SignupService);
    expect(Object.keys(signup.mail)).toEqual(['send']);
    expect(signup.mail.send).toBe(signup.app.tasks.get('mail.send'));
    const result = await signup.welcome('ann@example.com');
    await expect(result.get({ timeout: 5000 })).resolves.toBe(1);
    expect(moduleRef.get(Outbox).sent).toEqual(['ann@example.com: welcome']);
    await expect(waitForTask(moduleRef, result.id, { timeout: 5000 })).resolves.toBe(1);
  });

  it('waitForTask(name) resolves with the next run of that task on the worker', async () => {
    const moduleRef = await boot('worker');
    const signup = moduleRef.get(SignupService);
    const next = waitForTask<number>(moduleRef, 'mail.send', { timeout: 5000 });
    await signup.welcome('bo@example.com');
    await expect(next).resolves.toBe(1);
  });

  it('runs tasks at once in eager mode', async () => {
    const moduleRef = await boot('eager');
    const signup = moduleRef.get(SignupService);
    expect(moduleRef.get(CeleriacLifecycle).worker).toBeUndefined();
    const result = await signup.welcome('cy@example.com');
    expect(moduleRef.get(Outbox).sent).toEqual(['cy@example.com: welcome']);
    await expect(result.get()).resolves.toBe(1);
  });

  it('graceful shutdown: close() lets the running task finish, then stops the worker and closes the app', async () => {
    finished = false;
    const moduleRef = await Test.createTestingModule({ imports: [CeleriacTestingModule.forRoot({ mode: 'worker' })], providers: [SlowTasks] }).compile();
    await moduleRef.init();
    const lifecycle = moduleRef.get(CeleriacLifecycle);
    const worker = lifecycle.worker!;
    const app = moduleRef.get<Celeriac>(CELERIAC_APP);
    const workerClose = jest.spyOn(worker, 'close');
    const appClose = jest.spyOn(app, 'close');
    const started = once(worker, 'task-started');
    await app.tasks.get('slow.run')!.delay();
    await started;
    let closed = false;
    const closing = moduleRef.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    expect(workerClose).toHaveBeenCalledWith({ graceful: true });
    release();
    await closing;
    expect(finished).toBe(true);
    expect(appClose).toHaveBeenCalled();
    expect(lifecycle.worker).toBeUndefined();
  });

  it('a proxy of a class that is not a provider fails clearly when read', async () => {
    @Injectable()
    class Orphan {
      @Task('orphan.run') run() {
        return 1;
      }
    }
    @Injectable()
    class UsesOrphan {
      constructor(@InjectTasks(Orphan) readonly orphan: TaskProxy<Orphan>) {}
    }
    const moduleRef = await Test.createTestingModule({ imports: [CeleriacTestingModule.forRoot(), CeleriacModule.forFeature([Orphan])], providers: [UsesOrphan] }).compile();
    opened.push(moduleRef);
    await moduleRef.init();
    expect(() => moduleRef.get(UsesOrphan).orphan.run).toThrow(/Orphan#run.*not registered/);
  });
});
