/** Runs a worker in this process, sends a few tasks and prints their results. */
import { RemoteTaskError, Worker } from '@celeriac/core';
import { app } from './app';
import { add, divide, flaky, greet } from './tasks';

async function main(): Promise<void> {
  const worker = new Worker(app, { concurrency: 4 });
  await worker.start();
  console.log(`worker ${worker.hostname} consuming ${worker.queues.join(', ')} on ${app.conf.brokerUrl}`);

  const sum = await add.delay(2, 3);
  console.log(`sample.add(2, 3) = ${await sum.get({ timeout: 10_000 })}`);

  const hello = await greet.applyAsync([], { kwargs: { name: 'Celeriac', greeting: 'Bonjour' } });
  console.log(`sample.greet(name='Celeriac', greeting='Bonjour') = ${await hello.get({ timeout: 10_000 })}`);

  const later = await add.applyAsync([40, 2], { countdown: 0.2 });
  console.log(`sample.add(40, 2) with countdown 0.2s = ${await later.get({ timeout: 10_000 })}`);

  const retried = await flaky.delay('flaky task');
  console.log(`sample.flaky = ${await retried.get({ timeout: 10_000 })}`);

  const failing = await divide.delay(1, 0);
  try {
    await failing.get({ timeout: 10_000 });
  } catch (err) {
    if (!(err instanceof RemoteTaskError)) throw err;
    console.log(`sample.divide(1, 0) failed as expected: ${err.excType}: ${err.excMessage.join(', ')} (state ${await failing.state()})`);
  }

  await worker.close();
  await app.close();
  console.log('done');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
