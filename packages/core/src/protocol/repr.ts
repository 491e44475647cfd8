/**
 * Python's repr() of JSON-like values, for the `argsrepr`/`kwargsrepr` headers and event fields that
 * Flower and `celery events` display. Truncated like Celery's saferepr (1024 chars).
 */
const MAX = 1024;

function reprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch < ' ') out += '\\x' + ch.charCodeAt(0).toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + quote;
}

function reprNumber(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  return String(n);
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
  return reprString(String(value));
}

function truncate(s: string): string {
  return s.length > MAX ? s.slice(0, MAX - 3) + '...' : s;
}

/** repr() of positional args as Celery shows them: a tuple, `(2, 3)`, `(1,)`. */
export function argsRepr(args: readonly unknown[]): string {
  const inner = args.map((a) => pythonRepr(a)).join(', ');
  return truncate(args.length === 1 ? `(${inner},)` : `(${inner})`);
}

/** repr() of kwargs: `{'x': 1}`. */
export function kwargsRepr(kwargs: Record<string, unknown>): string {
  return truncate(pythonRepr(kwargs));
}
