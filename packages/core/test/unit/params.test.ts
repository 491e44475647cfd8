import { bindKwargs, inferParamNames } from '../../src/task/params';

type Fn = (...args: never[]) => unknown;
/** A function from exact source text (no transpiler in between), via indirect eval. */
const fromSource = (code: string): Fn => (0, eval)(`(${code})`) as Fn;

describe('inferParamNames', () => {
  it.each([
    ['arrow with parentheses', '(a, b) => a + b', ['a', 'b']],
    ['arrow with one bare parameter', 'x => x * 2', ['x']],
    ['async arrow with one bare parameter', 'async x => x', ['x']],
    ['async arrow', 'async (a, b) => a', ['a', 'b']],
    ['arrow without parameters', '() => 1', []],
    ['a parameter named async', 'async => async', ['async']],
    ['function expression', 'function (a, b, c) { return a }', ['a', 'b', 'c']],
    ['named function', 'function add(x, y) { return x + y }', ['x', 'y']],
    ['async function', 'async function run(job, opts) {}', ['job', 'opts']],
    ['generator', 'function* gen(a, b) {}', ['a', 'b']],
    ['method shorthand', '{ m(a, b) { return a } }.m', ['a', 'b']],
    ['default values', '(a, b = 2, c = {x: [1, 2]}) => a', ['a', 'b', 'c']],
    ['default values calling functions', '(a, b = Math.max(1, 2), c = (() => 3)()) => a', ['a', 'b', 'c']],
    ['a ")" or "," inside a string default', '(a, b = ")", c = \'x,y\', d = `(${1},`) => a', ['a', 'b', 'c', 'd']],
    ['an escaped quote in a default', "(a = 'it\\'s, (fine)', b) => a", ['a', 'b']],
    ['destructured object and array', '({ x, y }, [p, q], last) => x', [null, null, 'last']],
    ['destructuring with defaults', '({ x = 1, y: { z } = {} } = {}, n = 0) => x', [null, 'n']],
    ['rest parameter ends the list', '(first, ...rest) => first', ['first']],
    ['only a rest parameter', '(...all) => all', []],
    ['block comments', '(a /* the first, (really) */, /* b */ b) => a', ['a', 'b']],
    ['line comments', '(a, // first, with a comma\n b // second )\n) => a', ['a', 'b']],
    ['comments in a function', 'function f(/* nothing */ a, b /* , c */) {}', ['a', 'b']],
    ['identifiers with $ and _ and unicode', '($el, _private, caf\u00e9) => 1', ['$el', '_private', 'caf\u00e9']],
    ['trailing comma', '(a, b,) => a', ['a', 'b']],
  ])('%s', (_name, code, expected) => {
    expect(inferParamNames(fromSource(code))).toEqual(expected);
  });

  it('reads functions compiled from TypeScript (type annotations removed)', () => {
    expect(inferParamNames(async (x: number, y = 2) => x + y)).toEqual(['x', 'y']);
    expect(inferParamNames(function greet(greeting: string, name = 'world') {
      return `${greeting}, ${name}`;
    })).toEqual(['greeting', 'name']);
  });

  it('returns null for bound and built-in functions, whose names are unknown', () => {
    expect(inferParamNames(fromSource('(a, b) => a').bind(null))).toBeNull();
    expect(inferParamNames(Math.max as unknown as Fn)).toBeNull();
  });

  it('reads functions made with new Function', () => {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    expect(inferParamNames(new Function('a /* x, y */', 'b // c, d\n', 'return a') as Fn)).toEqual(['a', 'b']);
  });
});

describe('bindKwargs', () => {
  it('returns args unchanged when there are no kwargs', () => {
    const args = [1, 2];
    expect(bindKwargs('tasks.add', ['x', 'y'], args, {})).toBe(args);
    expect(bindKwargs('tasks.add', null, args, {})).toBe(args);
  });

  it('places kwargs in their positional slots', () => {
    expect(bindKwargs('tasks.add', ['x', 'y'], [], { y: 2, x: 1 })).toEqual([1, 2]);
    expect(bindKwargs('tasks.add', ['x', 'y', 'z'], [1], { z: 3 })).toEqual([1, undefined, 3]);
  });

  it('does not change the caller\'s args array', () => {
    const args = [1];
    bindKwargs('t', ['a', 'b'], args, { b: 2 });
    expect(args).toEqual([1]);
  });

  it('throws TypeError "unexpected keyword argument" like Python', () => {
    expect(() => bindKwargs('tasks.add', ['x', 'y'], [1, 2], { z: 3 })).toThrow(new TypeError("tasks.add() got an unexpected keyword argument 'z'"));
  });

  it('a destructured parameter cannot be addressed by name', () => {
    expect(() => bindKwargs('t', [null, 'n'], [], { x: 1 })).toThrow("t() got an unexpected keyword argument 'x'");
  });

  it('throws TypeError "multiple values" like Python', () => {
    expect(() => bindKwargs('tasks.add', ['x', 'y'], [1], { x: 5 })).toThrow(new TypeError("tasks.add() got multiple values for argument 'x'"));
  });

  it('explains how to fix unknown parameter names', () => {
    expect(() => bindKwargs('tasks.add', null, [], { x: 1 })).toThrow(TypeError);
    expect(() => bindKwargs('tasks.add', null, [], { x: 1, y: 2 })).toThrow(/tasks\.add\(\) got keyword arguments \(x, y\) but its parameter names are unknown: declare them with the task option "params"/);
  });

  it('works end to end with inferred names', () => {
    const fn = fromSource('(greeting, name = "world", punctuation = "!") => greeting + ", " + name + punctuation');
    const args = bindKwargs('greet', inferParamNames(fn), ['hi'], { punctuation: '?' });
    expect((fn as unknown as (...a: unknown[]) => string)(...args)).toBe('hi, world?');
  });
});
