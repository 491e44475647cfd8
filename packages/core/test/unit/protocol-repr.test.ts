import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { argsRepr, kwargsRepr, pythonRepr, saferepr } from '../../src/protocol/repr';

const PYTHON = '/usr/bin/python3';

/** One case: the JS value and the JSON text Python loads for the same value. */
interface Case {
  name: string;
  kind: 'args' | 'kwargs';
  js: unknown;
  json?: string;
}

const long = 'x'.repeat(2000);
const words = 'word '.repeat(300);
const emoji = '\u{1F600}'.repeat(1100);
const manyInts = Array.from({ length: 1000 }, (_, i) => i);
const manyKeys = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`key${i}`, `value ${i}`]));

const CASES: Case[] = [
  { name: 'two ints', kind: 'args', js: [2, 3] },
  { name: 'one arg (tuple comma)', kind: 'args', js: [1] },
  { name: 'no args', kind: 'args', js: [] },
  { name: 'unicode, float, None, bool', kind: 'args', js: ['h\u00e9llo', '\u65e5\u672c', 1.5, null, true] },
  { name: 'quotes', kind: 'args', js: ["it's", 'say "hi"', 'both \' "'] },
  { name: 'control characters stay raw', kind: 'args', js: ['line\nbreak\ttab\\back\u0000\u007f'] },
  { name: 'floats', kind: 'args', js: [0.00001, 1.5e-7, 0.0001, 123.456, -0.5, 1e300, 2.5e-300, 0.1] },
  { name: 'non-finite floats', kind: 'args', js: [NaN, Infinity, -Infinity], json: '[NaN, Infinity, -Infinity]' },
  { name: 'nested lists beyond 3 levels', kind: 'args', js: [[[[1]]], [[2]], [3]] },
  { name: 'nested dicts beyond 3 levels', kind: 'args', js: [{ a: { b: { c: 1 } } }, { a: [1, { b: 2 }] }] },
  { name: 'empty containers', kind: 'args', js: [[], {}, ''] },
  { name: 'long string is truncated', kind: 'args', js: [long] },
  { name: 'long string truncated at a space', kind: 'args', js: [words] },
  { name: 'astral characters counted as one', kind: 'args', js: [emoji] },
  { name: 'many ints, budget spent mid-list', kind: 'args', js: [manyInts] },
  { name: 'many ints at top level', kind: 'args', js: manyInts },
  { name: 'kwargs: unicode and a big int', kind: 'kwargs', js: { k: '\u00df', big: 2n ** 53n + 1n }, json: '{"k": "\\u00df", "big": 9007199254740993}' },
  { name: 'kwargs: empty', kind: 'kwargs', js: {} },
  { name: 'kwargs: nested', kind: 'kwargs', js: { x: [1, [2, [3, [4]]]], y: { z: null } } },
  { name: 'kwargs: many keys', kind: 'kwargs', js: manyKeys },
  { name: 'kwargs: key with a quote', kind: 'kwargs', js: { "it's": 1 } },
];

function repr(c: Case): string {
  return c.kind === 'args' ? argsRepr(c.js as unknown[]) : kwargsRepr(c.js as Record<string, unknown>);
}

describe('argsRepr / kwargsRepr (Celery saferepr)', () => {
  it('matches the argsrepr/kwargsrepr headers Celery 5.2.6 sent in the vectors', () => {
    expect(argsRepr([2, 3])).toBe('(2, 3)');
    expect(argsRepr([1])).toBe('(1,)');
    expect(argsRepr([])).toBe('()');
    expect(kwargsRepr({})).toBe('{}');
    expect(kwargsRepr({ x: 1, y: 2 })).toBe("{'x': 1, 'y': 2}");
    // redis/publish/13_unicode_kwargs (Python sent the args as a list, hence [] there)
    expect(kwargsRepr({ k: '\u00df', big: 2n ** 53n + 1n })).toBe("{'k': '\u00df', 'big': 9007199254740993}");
    expect(saferepr(['h\u00e9llo', '\u65e5\u672c', 1.5, null, true])).toBe("['h\u00e9llo', '\u65e5\u672c', 1.5, None, True]");
  });

  it('quotes like saferepr, not repr: always single quotes, only the quote escaped', () => {
    expect(argsRepr(["it's"])).toBe("('it\\'s',)");
    expect(argsRepr(['say "hi"'])).toBe("('say \"hi\"',)");
    expect(argsRepr(['a\nb'])).toBe("('a\nb',)");
  });

  it('writes floats as Python does', () => {
    expect(argsRepr([0.00001, 1.5e-7, 0.0001, 123.456, -2.5e-300])).toBe('(1e-05, 1.5e-07, 0.0001, 123.456, -2.5e-300)');
    // An integral JS number arrives in Python as an int (JSON has no 1.0), so it is written as one.
    expect(argsRepr([1e16, 3])).toBe('(10000000000000000, 3)');
    expect(argsRepr([NaN, Infinity, -Infinity])).toBe('(nan, inf, -inf)');
  });

  it('stops at 3 levels of nesting', () => {
    expect(argsRepr([[[[1]]]])).toBe('([[[...]]],)');
    expect(kwargsRepr({ a: { b: { c: { d: 1 } } } })).toBe("{'a': {'b': {'c': {...}}}}");
  });

  it('truncates to about 1024 characters and closes the brackets', () => {
    const r = argsRepr([Array.from({ length: 1000 }, (_, i) => i)]);
    expect(r).toHaveLength(1035);
    expect(r.startsWith('([0, 1, 2, ')).toBe(true);
    // The number cut by the budget gets '...', then ', ...' and the open brackets are closed.
    expect(r.endsWith(', 224, 225, 22..., ...],)')).toBe(true);
    const s = argsRepr(['x'.repeat(2000)]);
    expect(s).toBe(`('${'x'.repeat(1023)}...', ...`);
  });

  it('agrees with celery.utils.saferepr for every case (run by /usr/bin/python3)', () => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: the Python oracle for saferepr needs python3-celery.`);
    const script = [
      'import json, sys',
      'from celery.utils.saferepr import saferepr',
      'out = []',
      'for c in json.load(sys.stdin):',
      '    v = json.loads(c["json"])',
      '    out.append(saferepr(tuple(v), 1024) if c["kind"] == "args" else saferepr(v, 1024))',
      'print(json.dumps(out))',
    ].join('\n');
    const input = JSON.stringify(CASES.map((c) => ({ kind: c.kind, json: c.json ?? JSON.stringify(c.js) })));
    const py = spawnSync(PYTHON, ['-c', script], { input, encoding: 'utf8' });
    if (py.status !== 0) throw new Error(`python3 failed: ${py.stderr}`);
    const expected = JSON.parse(py.stdout) as string[];
    const actual = CASES.map(repr);
    const mismatches = CASES.flatMap((c, i) => (actual[i] === expected[i] ? [] : [{ case: c.name, expected: expected[i], actual: actual[i] }]));
    expect(mismatches).toEqual([]);
  });
});

describe('pythonRepr (repr())', () => {
  it('picks the quote like Python and escapes control characters', () => {
    expect(pythonRepr("it's")).toBe('"it\'s"');
    expect(pythonRepr('both \' "')).toBe("'both \\' \"'");
    expect(pythonRepr('a\\b\n\t\r')).toBe("'a\\\\b\\n\\t\\r'");
    expect(pythonRepr('\u0000\u007f\u00a0\u200b\u{e0001} \u00e9')).toBe("'\\x00\\x7f\\xa0\\u200b\\U000e0001 \u00e9'");
  });

  it('writes None, booleans, numbers, big ints, lists and dicts', () => {
    expect(pythonRepr(null)).toBe('None');
    expect(pythonRepr(undefined)).toBe('None');
    expect(pythonRepr([true, false, 1, 1.5, 1e-5, 2n ** 64n])).toBe('[True, False, 1, 1.5, 1e-05, 18446744073709551616]');
    expect(pythonRepr({ a: [1, { b: 'c' }] })).toBe("{'a': [1, {'b': 'c'}]}");
  });

  it('agrees with Python repr() on strings (run by /usr/bin/python3)', () => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing.`);
    const strings = ["it's", 'say "hi"', 'both \' "', 'tab\there', '\u0000\u001f\u007f\u0085\u00a0\u00ad', '\u2028\u200b\ufeff', '\u{1F600}\u{e0001}', '\u00e9\u65e5 ok', '\\'];
    const py = spawnSync(PYTHON, ['-c', 'import json,sys; print(json.dumps([repr(s) for s in json.load(sys.stdin)]))'], {
      input: JSON.stringify(strings),
      encoding: 'utf8',
    });
    if (py.status !== 0) throw new Error(`python3 failed: ${py.stderr}`);
    expect(strings.map((s) => pythonRepr(s))).toEqual(JSON.parse(py.stdout));
  });
});
