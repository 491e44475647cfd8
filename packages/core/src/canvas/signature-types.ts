/**
 * Type-level helpers for signatures: partial application (which arguments a signature still needs)
 * and chain checking (each step's first missing argument must accept the previous step's result).
 */
/** `unknown` (an untyped task, a task known only by name) checks as anything, so it never blocks a chain. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loosen<R> = unknown extends R ? any : R;
/** What a signature returns. */
export type ResultOf<S> = S extends { readonly __types?: { result: infer R } } ? Loosen<R> : unknown;
/** The leading arguments a signature still needs. */
export type MissingOf<S> = S extends { readonly __types?: { missing: infer M } } ? M : unknown[];

/** Every tail of a tuple: [a, b] -> [a, b] | [b] | []. */
export type Suffixes<T extends unknown[]> = T extends [unknown, ...infer R] ? T | Suffixes<R> : T extends [] ? [] : T | [];
/** The tails shorter than the tuple. */
export type ProperSuffixes<T extends unknown[]> = T extends [unknown, ...infer R] ? Suffixes<R> : [];
/** T without as many trailing elements as A has: the arguments still missing once A is bound. */
export type DropLast<T extends unknown[], A extends unknown[]> = A extends [unknown, ...infer AR] ? (T extends [...infer I, unknown] ? DropLast<I, AR> : []) : T;

/** Shown in the compiler's message when a chain step cannot take the previous step's result. */
export interface ChainStepMismatch<Got, Want> {
  readonly 'chain step expects as its first argument': Want;
  readonly 'but the previous step returns': Got;
}

type StepOk<H, Prev> = MissingOf<H> extends [infer First, ...unknown[]] ? ([Prev] extends [First] ? H : ChainStepMismatch<Prev, First>) : H;
/** `next` itself when it can follow a step returning `Prev`, else a mismatch marker (a compile error). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type StepFor<Next, Prev> = StepOk<Next, unknown extends Prev ? any : Prev>;

/** The steps as given, with a mismatch marker in place of any step that cannot take its predecessor's result. */
export type CheckChain<S extends readonly unknown[], Prev = never, IsFirst = true> = S extends readonly [infer H, ...infer R]
  ? [IsFirst extends true ? H : StepOk<H, Prev>, ...CheckChain<R, ResultOf<H>, false>]
  : S;

/** The last element of a tuple. */
export type Last<S extends readonly unknown[]> = S extends readonly [...unknown[], infer L] ? L : S[number];
