/**
 * Parameter names of a function, read from its source, so Celery kwargs can be matched by name.
 * Destructured parameters get null (not addressable by name); a rest parameter ends the list.
 */
export function inferParamNames(fn: (...args: never[]) => unknown): Array<string | null> | null {
  const src = Function.prototype.toString.call(fn);
  let list: string;
  const arrowSingle = /^\s*(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
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
  let quote: string | null = null;
  for (const ch of list) {
    if (quote) {
      current += ch;
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') quote = ch;
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
    const p = raw.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').trim();
    if (p.startsWith('...')) break;
    const m = /^([A-Za-z_$][\w$]*)/.exec(p);
    names.push(m ? m[1]! : null);
  }
  return names;
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
