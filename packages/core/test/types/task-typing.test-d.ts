/* eslint-disable @typescript-eslint/no-unused-vars -- values exist only to be typed */
/**
 * Compile-time checks of end-to-end task typing (run by `npm run typecheck`, part of `npm test`).
 * Each @ts-expect-error must stay an error: if a line compiles, tsc fails the build.
 */
import { Celeriac, type AsyncResult, type Task, type TaskArgs, type TaskContext, type TaskResult, sharedTask } from '@celeriac/core';

declare function expectType<T>(value: T): void;
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
declare function assertTrue<T extends true>(): void;

const app = new Celeriac({ brokerUrl: 'memory://' });
const add = app.task('math.add', async (x: number, y: number) => x + y);
assertTrue<Equals<typeof add, Task<[x: number, y: number], number>>>();
assertTrue<Equals<TaskArgs<typeof add>, [x: number, y: number]>>();
assertTrue<Equals<TaskResult<typeof add>, number>>();

async function calls(): Promise<void> {
  const r = await add.delay(2, 3);
  expectType<AsyncResult<number>>(r);
  const sum: number = await r.get({ timeout: 1000 });
  void sum;
  // @ts-expect-error '3' is not a number
  await add.delay(2, '3');
  // @ts-expect-error missing argument
  await add.delay(2);
  await add.applyAsync([2, 3], { countdown: 5, queue: 'math', priority: 7 });
  // @ts-expect-error wrong tuple
  await add.applyAsync(['2', 3]);
  // kwargs allow partial positional args
  await add.applyAsync([], { kwargs: { x: 1, y: 2 } });
  // @ts-expect-error unknown option
  await add.applyAsync([1, 2], { countdonw: 5 });
  // direct call runs the function and is typed
  const direct: number = await add(1, 2);
  void direct;
  // @ts-expect-error the result is a number, not a string
  const wrong: string = await (await add.delay(1, 2)).get();
  void wrong;
}
void calls;

// Sync functions, void results, and `this: TaskContext`.
const sync = app.task('sync.upper', (s: string) => s.toUpperCase());
assertTrue<Equals<TaskResult<typeof sync>, string>>();
const bound = app.task('bound', async function (this: TaskContext, n: number) {
  const id: string = this.request.id;
  void id;
  return [n];
});
assertTrue<Equals<TaskArgs<typeof bound>, [n: number]>>();
assertTrue<Equals<TaskResult<typeof bound>, number[]>>();

// A producer that must not load worker code imports the type only.
const addRef = app.taskRef<typeof add>('math.add');
assertTrue<Equals<TaskArgs<typeof addRef>, [x: number, y: number]>>();
// A task implemented in Python: spell the types out once.
const mul = app.taskRef<Task<[number, number], number>>('proj.tasks.mul');
async function refs(): Promise<void> {
  const m: number = await (await mul.delay(2, 4)).get();
  void m;
  // @ts-expect-error too many args
  await mul.delay(1, 2, 3);
}
void refs;

const shared = sharedTask('shared.len', async (s: string) => s.length);
assertTrue<Equals<TaskResult<typeof shared>, number>>();
