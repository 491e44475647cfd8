// CeleriacHealthIndicator inside a real @nestjs/terminus HealthCheckService: up while the in-process
// worker consumes, down (terminus throws its 503) once it stopped; a producer-only process is up.
import { CeleriacHealthIndicator, CeleriacLifecycle, CeleriacTestingModule } from '@celeriac/nestjs';
import { ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test, type TestingModule } from '@nestjs/testing';
import { MathModule } from './fixtures';

const opened: TestingModule[] = [];
async function boot(mode: 'eager' | 'worker'): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({ imports: [TerminusModule.forRoot({ logger: false }), CeleriacTestingModule.forRoot({ mode }), MathModule] }).compile();
  opened.push(moduleRef);
  await moduleRef.init();
  return moduleRef;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((m) => m.close()));
});

describe('CeleriacHealthIndicator with @nestjs/terminus', () => {
  it('is up while the worker consumes and down once it stopped', async () => {
    const moduleRef = await boot('worker');
    const health = moduleRef.get(HealthCheckService);
    const celeriac = moduleRef.get(CeleriacHealthIndicator);
    const up = await health.check([() => celeriac.isHealthy('queue')]);
    expect(up.status).toBe('ok');
    expect(up.details.queue).toMatchObject({ status: 'up', lifecycle: 'running', queues: ['celery'], roles: ['producer', 'worker'] });

    await moduleRef.get(CeleriacLifecycle).worker!.close();
    const failure = await health.check([() => celeriac.isHealthy('queue')]).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(ServiceUnavailableException);
    expect((failure as ServiceUnavailableException).getResponse()).toMatchObject({ status: 'error', error: { queue: { status: 'down', lifecycle: 'stopped', reason: 'worker is stopped' } } });
  });

  it('a producer-only process has no consumer to check and is up', async () => {
    const moduleRef = await boot('eager');
    expect(await moduleRef.get(CeleriacHealthIndicator).isHealthy()).toEqual({ celeriac: { status: 'up', roles: ['producer'], worker: 'none in this process' } });
  });
});
