/** The Celeriac sample: a Nest app whose service methods are tasks, queued over HTTP. */
import 'reflect-metadata';
import { CeleriacLifecycle } from '@celeriac/nestjs';
import { NestFactory } from '@nestjs/core';
import { ADMIN_USER, AppModule, BEAT_DB_URL } from './app.module';

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
  console.log(`  curl ${url}/health`);
  if (app.get(CeleriacLifecycle).beatService) console.log(`Beat sends the periodic tasks stored in ${BEAT_DB_URL} (the @Periodic ones are upserted there).`);
  console.log(`Admin table: ${url}/admin/periodic-tasks (user ${ADMIN_USER.username}, password ${process.env.SAMPLE_ADMIN_PASSWORD ? 'from SAMPLE_ADMIN_PASSWORD' : ADMIN_USER.password})`);
  console.log('Ctrl+C stops it (the worker drains first).');
}

bootstrap().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
