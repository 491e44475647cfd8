/* eslint-disable @typescript-eslint/no-unused-vars -- values exist only to be typed */
/**
 * Compile-time checks of TaskProxy typing (run by `npm run typecheck`, part of `npm test`).
 * Each @ts-expect-error must stay an error: if a line compiles, tsc fails the build.
 */
import type { AsyncResult, Task } from '@celeriac/core';
import { Task as TaskDecorator, type TaskProxy } from '@celeriac/nestjs';

declare function expectType<T>(value: T): void;
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
declare function assertTrue<T extends true>(): void;

class MailService {
  readonly from = 'noreply@example.com';

  @TaskDecorator('mail.send')
  async send(to: string, body: string): Promise<{ id: number }> {
    return { id: to.length + body.length };
  }

  @TaskDecorator()
  count(): number {
    return 1;
  }
}

declare const mail: TaskProxy<MailService>;

assertTrue<Equals<typeof mail.send, Task<[to: string, body: string], { id: number }>>>();
assertTrue<Equals<typeof mail.count, Task<[], number>>>();

async function calls(): Promise<void> {
  const sent = await mail.send.delay('ann@example.com', 'hi');
  expectType<AsyncResult<{ id: number }>>(sent);
  const { id }: { id: number } = await sent.get({ timeout: 1000 });
  void id;
  await mail.send.applyAsync(['ann@example.com', 'hi'], { countdown: 5 });
  // @ts-expect-error body must be a string
  await mail.send.delay('ann@example.com', 42);
  // @ts-expect-error missing argument
  await mail.send.delay('ann@example.com');
  // @ts-expect-error the result is { id: number }, not a string
  const wrong: string = await sent.get();
  // @ts-expect-error properties are not tasks
  void mail.from;
  // @ts-expect-error no such method
  void mail.receive;
}
void calls;
