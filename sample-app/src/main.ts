/** The Celeriac sample: a Nest app whose service methods are tasks, queued over HTTP. */
import 'reflect-metadata';
import { CeleriacLifecycle } from '@celeriac/nestjs';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  console.log(`Celeriac sample listening on ${url} (broker ${process.env.CELERIAC_BROKER_URL ?? 'memory://sample'})`);
  console.log(`  curl -X POST ${url}/reports/analyze -H 'content-type: application/json' -d '{"text":"the quick brown fox jumps over the lazy dog the end"}'`);
  console.log(`  curl -X POST ${url}/reports/batch -H 'content-type: application/json' -d '{"texts":["a b a","b c b","c a c"]}'`);
  console.log(`  curl -X POST ${url}/reports/export/sales`);
  console.log(`  curl ${url}/tasks/<taskId>`);
  const beat = app.get(CeleriacLifecycle).beat;
  if (beat) console.log(`Beat sends the @Periodic schedules: ${beat.entries.map((e) => e.name).join(', ')}`);
  console.log('Ctrl+C stops it (the worker drains first).');
}

bootstrap().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
