/** The fast path of argsRepr/kwargsRepr must give exactly what the full saferepr port gives. */
import { argsRepr, kwargsRepr, saferepr, Tuple } from '../../src/protocol/repr';

const samples: unknown[][] = [
  [],
  [1],
  [2, 3],
  [-7, 0, 9007199254740991],
  ['x'],
  ['hello world', 'a-b_c.d/e:f', ''],
  [true, false, null, undefined],
  ['  spaces  ', '[brackets]', '{braces}', '"double"'],
  Array.from({ length: 32 }, (_, i) => i),
  Array.from({ length: 30 }, () => 'y'.repeat(40)),
];

describe('argsRepr / kwargsRepr fast path', () => {
  it.each(samples.map((s) => [JSON.stringify(s), s]))('args %s match saferepr', (_label, args) => {
    const full = saferepr(new Tuple(args), 1024);
    expect(argsRepr(args)).toBe(full);
  });

  it.each(samples.map((s) => [JSON.stringify(s), s]))('kwargs built from %s match saferepr', (_label, values) => {
    const kwargs = Object.fromEntries((values).map((v, i) => [`k${i}`, v]));
    expect(kwargsRepr(kwargs)).toBe(saferepr(kwargs, 1024));
  });
});
