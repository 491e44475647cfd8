/**
 * Python-style reprs of JSON-like values. `argsrepr`/`kwargsrepr` (shown by Flower and `celery events`)
 * are what Celery's `saferepr(args, 1024)` (celery/utils/saferepr.py) writes, which is not repr():
 * strings always in single quotes with only `'` escaped, at most 3 levels of nesting, and a streaming
 * truncation that ends in `, ...`. `pythonRepr` is the plain repr() of a value.
 */
const MAX = 1024;
const MAX_LEVELS = 3;

/** Python's str()/repr() of a float or int given as a JS number (they agree for floats in Python 3). */
function reprNumber(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  if (Number.isInteger(n)) return String(n);
  // Python switches to exponent notation below 1e-4 and from 1e16, and pads the exponent to 2 digits.
  const m = /^(-?\d(?:\.\d+)?)e([+-])(\d+)$/.exec(n.toExponential());
  if (!m) return String(n);
  const exp = Number(m[3]) * (m[2] === '-' ? -1 : 1);
  if (exp >= -4 && exp < 16) return String(n);
  return `${m[1]}e${m[2]}${m[3]!.padStart(2, '0')}`;
}

// Python's str.isprintable(): every "Other" and "Separator" character except the ASCII space is escaped.
const NON_PRINTABLE = /[\p{C}\p{Z}]/u;

function reprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch !== ' ' && NON_PRINTABLE.test(ch)) {
      const code = ch.codePointAt(0)!;
      out += code < 0x100 ? '\\x' + code.toString(16).padStart(2, '0') : code < 0x10000 ? '\\u' + code.toString(16).padStart(4, '0') : '\\U' + code.toString(16).padStart(8, '0');
    } else out += ch;
  }
  return out + quote;
}

/** repr() of one value. */
export function pythonRepr(value: unknown, depth = 0): string {
  if (depth > 20) return '...';
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return reprNumber(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return reprString(value);
  if (Array.isArray(value)) return `[${value.map((v) => pythonRepr(v, depth + 1)).join(', ')}]`;
  if (value instanceof Date) return reprString(value.toISOString());
  if (value instanceof Uint8Array) return `b'<${value.length} bytes>'`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${reprString(k)}: ${pythonRepr(v, depth + 1)}`)
      .join(', ')}}`;
  }
  return `<${typeof value}>`;
}

// ---- saferepr: a port of celery/utils/saferepr.py (Celery 5.2) for JSON-like values ----

interface Literal {
  readonly lit: string;
  /** False for brackets: they are still written after the budget is spent. */
  readonly truncate: boolean;
  readonly direction: -1 | 0 | 1;
}
type Item = Literal | { readonly key: string } | { readonly dirty: object } | { readonly value: unknown };
type Token = Literal | { readonly key: string } | { readonly quoted: string | Uint8Array } | { readonly text: string };

const LIT = (lit: string, truncate: boolean, direction: -1 | 0 | 1): Literal => ({ lit, truncate, direction });
const DICT_START = LIT('{', false, 1);
const DICT_KVSEP = LIT(': ', true, 0);
const DICT_END = LIT('}', false, -1);
const LIST_START = LIT('[', false, 1);
const LIST_END = LIT(']', false, -1);
const LIST_SEP = LIT(', ', true, 0);
const TUPLE_START = LIT('(', false, 1);
const TUPLE_END = LIT(')', false, -1);
const TUPLE_END_SV = LIT(',)', false, -1);

/** Marks an array that Python would hold as a tuple (positional args). */
export class Tuple {
  constructor(readonly items: readonly unknown[]) {}
}

/** Python's len(): code points, not UTF-16 units. */
function pyLen(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff || i + 1 >= s.length) n++;
    else {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
      n++;
    }
  }
  return n;
}

/** The first `n` code points of `s`. */
function pySlice(s: string, n: number): string {
  let out = '';
  let count = 0;
  for (const ch of s) {
    if (count++ >= n) break;
    out += ch;
  }
  return out;
}

/** celery.utils.text.truncate. */
function truncateText(s: string, maxlen: number | undefined): string {
  if (maxlen && pyLen(s) >= maxlen) {
    const head = pySlice(s, maxlen);
    const space = head.lastIndexOf(' ');
    return (space >= 0 ? head.slice(0, space) : head) + '...';
  }
  return s;
}

function formatBytes(bytes: Uint8Array, maxlen: number | undefined): string {
  const text = (b: Uint8Array): string => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(b);
    } catch {
      return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
    }
  };
  if (maxlen && bytes.length > maxlen) return `b'${text(bytes.subarray(0, maxlen))}...'`;
  return `b'${text(bytes)}'`;
}

function* chainItems(...parts: Array<Iterable<Item>>): Generator<Item> {
  for (const part of parts) yield* part;
}

function* listItems(values: readonly unknown[]): Generator<Item> {
  for (let i = 0; i < values.length; i++) {
    yield { value: values[i] };
    if (i < values.length - 1) yield LIST_SEP;
  }
}

function* dictItems(entries: Array<[string, unknown]>): Generator<Item> {
  for (let i = 0; i < entries.length; i++) {
    yield { key: entries[i]![0] };
    yield DICT_KVSEP;
    yield { value: entries[i]![1] };
    if (i < entries.length - 1) yield LIST_SEP;
  }
}

/** reprstream(): yields each token with the iterator holding everything after it. */
function* reprStream(value: unknown, maxlevels: number): Generator<[Token, Iterator<Item>]> {
  let it: Iterator<Item> = chainItems([{ value }]);
  let level = 0;
  const seen = new Set<object>();
  for (;;) {
    const next = it.next();
    if (next.done) return;
    const item = next.value;
    if ('dirty' in item) {
      seen.delete(item.dirty);
      continue;
    }
    if ('lit' in item) {
      level += item.direction;
      yield [item, it];
      continue;
    }
    if ('key' in item) {
      yield [item, it];
      continue;
    }
    const v = item.value;
    if (v === null || v === undefined) yield [{ text: 'None' }, it];
    else if (typeof v === 'boolean') yield [{ text: v ? 'True' : 'False' }, it];
    else if (typeof v === 'number') yield [{ text: reprNumber(v) }, it];
    else if (typeof v === 'bigint') yield [{ text: v.toString() }, it];
    else if (typeof v === 'string' || v instanceof Uint8Array) yield [{ quoted: v }, it];
    else if (v instanceof Date) yield [{ quoted: v.toISOString() }, it];
    else if (typeof v === 'object') {
      let start: Literal;
      let end: Literal;
      let children: Iterable<Item>;
      if (v instanceof Tuple) {
        start = TUPLE_START;
        end = v.items.length === 1 ? TUPLE_END_SV : TUPLE_END;
        children = listItems(v.items);
      } else if (Array.isArray(v)) {
        start = LIST_START;
        end = LIST_END;
        children = listItems(v);
      } else {
        start = DICT_START;
        end = DICT_END;
        children = dictItems(Object.entries(v as Record<string, unknown>));
      }
      if (maxlevels && level >= maxlevels) {
        yield [{ text: `${start.lit}...${end.lit}` }, it];
        continue;
      }
      if (seen.has(v)) {
        yield [{ text: `<Recursion on ${Array.isArray(v) ? 'list' : 'dict'}>` }, it];
        continue;
      }
      seen.add(v);
      const parent = it;
      it = chainItems([start], children, [{ dirty: v }, end], { [Symbol.iterator]: () => parent });
    } else yield [{ text: `<${typeof v}>` }, it];
  }
}

/**
 * Celery's `saferepr(value, maxlen)`: what a Python client puts in argsrepr/kwargsrepr, the
 * task-received event's args/kwargs and task-succeeded's result.
 */
export function saferepr(value: unknown, maxlen: number | undefined = MAX, maxlevels = MAX_LEVELS): string {
  let out = '';
  let budget = maxlen;
  let rest: Iterator<Item> | undefined;
  for (const [token, it] of reprStream(value, maxlevels)) {
    if (budget !== undefined && budget <= 0) {
      out += ', ...';
      rest = it;
      break;
    }
    let val: string;
    if ('lit' in token) val = token.lit;
    else if ('key' in token) val = saferepr(token.key, budget, maxlevels);
    else if ('quoted' in token) {
      val = typeof token.quoted === 'string' ? `'${truncateText(token.quoted, budget).replace(/'/g, "\\'")}'` : formatBytes(token.quoted, budget);
    } else val = truncateText(token.text, budget);
    out += val;
    if (budget !== undefined) budget -= pyLen(val);
  }
  if (rest) {
    // The budget is spent: close the brackets still open, as Celery does.
    for (let next = rest.next(); !next.done; next = rest.next()) {
      const item = next.value;
      if ('lit' in item && !item.truncate) out += item.lit;
    }
  }
  return out;
}

/** saferepr of positional args as Celery shows them: a tuple, `(2, 3)`, `(1,)`. */
export function argsRepr(args: readonly unknown[]): string {
  const fast = simpleItems(args);
  if (fast !== null) {
    const inner = fast.join(', ');
    const out = fast.length === 1 ? `(${inner},)` : `(${inner})`;
    if (out.length <= MAX) return out;
  }
  return saferepr(new Tuple(args), MAX);
}

// Printable ASCII without quote or backslash: its saferepr is the text in single quotes.
const PLAIN = /^[\x20-\x26\x28-\x5b\x5d-\x7e]*$/;

/** Fast path for the usual call (a few ints, plain strings, booleans, None): their reprs, or null. */
function simpleItems(values: readonly unknown[]): string[] | null {
  if (values.length > 32) return null;
  const out: string[] = [];
  for (const v of values) {
    if (typeof v === 'number' && Number.isSafeInteger(v)) out.push(String(v));
    else if (typeof v === 'string' && v.length <= 200 && PLAIN.test(v)) out.push(`'${v}'`);
    else if (v === true) out.push('True');
    else if (v === false) out.push('False');
    else if (v === null || v === undefined) out.push('None');
    else return null;
  }
  return out;
}

/** saferepr of kwargs: `{'x': 1}`. */
export function kwargsRepr(kwargs: Record<string, unknown>): string {
  const keys = Object.keys(kwargs);
  if (keys.length === 0) return '{}';
  if (keys.every((k) => k.length <= 200 && PLAIN.test(k))) {
    const values = simpleItems(keys.map((k) => kwargs[k]));
    if (values !== null) {
      const out = `{${keys.map((k, i) => `'${k}': ${values[i]}`).join(', ')}}`;
      if (out.length <= MAX) return out;
    }
  }
  return saferepr(kwargs, MAX);
}
