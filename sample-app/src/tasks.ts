/** Sample tasks: typed from their functions, callable from TypeScript or from Python by name. */
import { type TaskContext } from '@celeriac/core';
import { app } from './app';

export const add = app.task('sample.add', async (x: number, y: number) => x + y);

export const greet = app.task('sample.greet', async (name: string, greeting: string = 'Hello') => `${greeting}, ${name}!`);

/** Fails twice, then succeeds: shows retry with the same task id. */
export const flaky = app.task(
  'sample.flaky',
  async function (this: TaskContext, label: string) {
    if (this.request.retries < 2) this.retry({ countdown: 0.05, exc: new Error(`not yet (${this.request.retries})`) });
    return `${label} worked after ${this.request.retries} retries`;
  },
  { maxRetries: 5 },
);

/** RangeError is expected here (`throws`): stored as FAILURE, logged at info without a stack. */
export const divide = app.task(
  'sample.divide',
  async (a: number, b: number) => {
    if (b === 0) throw new RangeError('division by zero');
    return a / b;
  },
  { throws: [RangeError] },
);
