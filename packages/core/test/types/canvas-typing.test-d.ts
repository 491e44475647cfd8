/* eslint-disable @typescript-eslint/no-unused-vars -- values exist only to be typed */
/**
 * Compile-time checks of canvas typing (run by `npm run typecheck`, part of `npm test`).
 * Each @ts-expect-error must stay an error: if a line compiles, tsc fails the build.
 */
import { Celeriac, chain, chord, group, type AsyncResult, type Chain, type Chord, type Group, type GroupResult, type Signature } from '@celeriac/core';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
declare function assertTrue<T extends true>(): void;

const app = new Celeriac({ brokerUrl: 'memory://' });
const add = app.task('math.add', async (x: number, y: number) => x + y);
const mul = app.task('math.mul', async (x: number, y: number) => x * y);
const xsum = app.task('math.xsum', async (values: number[]) => values.reduce((a, b) => a + b, 0));
const shout = app.task('text.shout', async (s: string) => s.toUpperCase());
const len = app.task('text.len', async (s: string) => s.length);

// add.s(2, 3) is a Signature<[number, number], number>.
const full: Signature<[number, number], number> = add.s(2, 3);
assertTrue<Equals<typeof full, Signature<[number, number], number, unknown[]>>>();
// A partial signature still needs its leading argument.
const partial = add.s(2);
// @ts-expect-error too many arguments for add
add.s(1, 2, 3);
// @ts-expect-error '2' is not a number
add.s('2');

async function calls(): Promise<void> {
  const r1: AsyncResult<number> = await partial.delay(8);
  // @ts-expect-error a partial add signature takes a number first
  await partial.delay('8');

  // Chains: each step's first missing parameter accepts the previous result.
  const c = chain(add.s(1, 2), add.s(3), mul.s(10));
  assertTrue<Equals<typeof c, Chain<number, []>>>();
  const r2: number = await (await c.applyAsync()).get();
  chain(add.s(1, 2), shout.si('x'), len.s());
  // @ts-expect-error shout takes a string, add returns a number
  chain(add.s(1, 2), shout.s());
  // @ts-expect-error xsum takes number[], len returns a number
  chain(shout.s('a'), len.s(), xsum.s());

  // The fluent form checks the same way.
  const piped: number = await (await add.s(1, 2).pipe(mul.s(10)).applyAsync()).get();
  // @ts-expect-error shout takes a string
  add.s(1, 2).pipe(shout.s());

  // Groups: results as a tuple (or an array when built from a list).
  const g = group(add.s(1, 1), shout.s('a'));
  assertTrue<Equals<typeof g, Group<[number, string]>>>();
  const gr: GroupResult<[number, string]> = await g.applyAsync();
  const [n, s]: [number, string] = await gr.get();
  const many = group([1, 2, 3].map((i) => add.s(i, i)));
  const values: number[] = await (await many.applyAsync()).get();

  // Chords: the body takes the header's results.
  const ch = chord([add.s(1, 1), add.s(2, 2)], xsum.s());
  assertTrue<Equals<typeof ch, Chord<number, []>>>();
  const total: number = await (await ch.applyAsync()).get();
  // @ts-expect-error shout takes a string, not the header's results
  chord([add.s(1, 1)], shout.s());

  // map / starmap / chunks
  const mapped: number[] = await (await add.starmap([[1, 2]]).delay()).get();
  const chunked: number[][] = await (await add.chunks([[1, 2], [3, 4]], 1).applyAsync()).get();
  // @ts-expect-error starmap needs argument lists of add
  add.starmap([['a', 2]]);
}
void calls;
