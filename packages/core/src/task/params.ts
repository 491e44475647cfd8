/**
 * Parameter names of a function, read from its source, so Celery kwargs can be matched by name.
 * Destructured parameters get null (not addressable by name); a rest parameter ends the list.
 */
export function inferParamNames(fn: (...args: never[]) => unknown): Array<string | null> | null {
  const full = Function.prototype.toString.call(fn);
  // Bound and built-in functions show no parameters: their names are unknown, not absent.
  if (/\{\s*\[native code\]\s*\}\s*$/.test(full)) return null;
  // Blank out comments and the inside of string/template literals, so a ')' or ',' in a default
  // value or a comment cannot end the list early or split a parameter.
  const src = maskCommentsAndStrings(full);
  let list: string;
  const arrowSingle = /^\s*(?:async\s+)?([\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*)\s*=>/u.exec(src);
  if (arrowSingle) {
    list = arrowSingle[1]!;
  } else {
    const open = src.indexOf('(');
    if (open < 0) return null;
    let depth = 0;
    let close = -1;
    for (let i = open; i < src.length; i++) {
      const ch = src[i];
      if (ch === '(' || ch === '[' || ch === '{') depth++;
      else if (ch === ')' || ch === ']' || ch === '}') {
        depth--;
        if (depth === 0) {
          close = i;
          break;
        }
      }
    }
    if (close < 0) return null;
    list = src.slice(open + 1, close);
  }
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of list) {
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    if (ch === ')' || ch === ']' || ch === '}') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  if (current.trim()) parts.push(current);
  const names: Array<string | null> = [];
  for (const raw of parts) {
    const p = raw.trim();
    if (p.startsWith('...')) break;
    const m = /^([\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*)/u.exec(p);
    names.push(m ? m[1]! : null);
  }
  return names;
}

/** Same length as `src`, with comments and string/template contents replaced by spaces/underscores. */
function maskCommentsAndStrings(src: string): string {
  let out = '';
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    const next = src[i + 1];
    if (ch === '/' && next === '/') {
      const end = src.indexOf('\n', i);
      const stop = end < 0 ? src.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (ch === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? src.length : end + 2;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (ch === '"' || ch === "'" || ch === '`') {
      out += ch;
      i++;
      while (i < src.length && src[i] !== ch) {
        out += src[i] === '\\' && i + 1 < src.length ? '__' : '_';
        i += src[i] === '\\' && i + 1 < src.length ? 2 : 1;
      }
      if (i < src.length) {
        out += ch;
        i++;
      }
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

/**
 * Places kwargs into positional slots by parameter name. Throws TypeError, as Python would, for a
 * keyword that matches no parameter or one that is also given positionally.
 */
export function bindKwargs(taskName: string, params: ReadonlyArray<string | null> | null, args: unknown[], kwargs: Record<string, unknown>): unknown[] {
  const keys = Object.keys(kwargs);
  if (!keys.length) return args;
  if (!params) {
    throw new TypeError(`${taskName}() got keyword arguments (${keys.join(', ')}) but its parameter names are unknown: declare them with the task option "params".`);
  }
  const out = [...args];
  for (const key of keys) {
    const index = params.indexOf(key);
    if (index < 0) throw new TypeError(`${taskName}() got an unexpected keyword argument '${key}'`);
    if (index < args.length) throw new TypeError(`${taskName}() got multiple values for argument '${key}'`);
    out[index] = kwargs[key];
  }
  return out;
}
