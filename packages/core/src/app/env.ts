/**
 * loadConfig: settings from environment variables named PREFIX + Celery's setting name upper-cased
 * (CELERIAC_BROKER_URL, CELERIAC_TASK_DEFAULT_QUEUE, ...). Only keys in the settings table are read.
 */
import { ConfigError } from '../errors';
import { nearest } from '../util/levenshtein';
import { SETTINGS, SETTING_NAMES, type CeleriacSettings, type SettingSpec } from './settings';
import { checkSettingValue } from './validate-settings';

export interface LoadConfigOptions {
  /** The environment to read; pass `process.env` or a plain object in tests. */
  env: Record<string, string | undefined>;
  /** Variable prefix. @defaultValue 'CELERIAC_' */
  prefix?: string;
  /** Warn about PREFIX_* variables that match no setting. @defaultValue true (via `onUnknown`) */
  onUnknown?: (variable: string, suggestion: string | undefined) => void;
}

/** The environment variable read for a setting. */
export function envVarName(setting: keyof CeleriacSettings, prefix = 'CELERIAC_'): string {
  return prefix + SETTINGS[setting].celeryName.toUpperCase();
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off', '']);

function coerce(variable: string, spec: SettingSpec, raw: string): unknown {
  const bad = (expected: string): never => {
    throw new ConfigError(variable, `Environment variable ${variable}="${raw}" is not valid: expected ${expected}.`);
  };
  switch (spec.kind) {
    case 'string':
    case 'enum':
      return raw;
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) bad('a number');
      return n;
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (TRUE.has(v)) return true;
      if (FALSE.has(v)) return false;
      return bad('true/false, 1/0, yes/no or on/off');
    }
    case 'list': {
      const t = raw.trim();
      if (t.startsWith('[')) {
        try {
          return JSON.parse(t) as unknown;
        } catch (err) {
          return bad(`a JSON array or a comma-separated list (${(err as Error).message})`);
        }
      }
      return t === '' ? [] : t.split(',').map((s) => s.trim()).filter(Boolean);
    }
    case 'json':
    case 'object':
    case 'any':
      try {
        return JSON.parse(raw) as unknown;
      } catch (err) {
        return bad(`JSON (${(err as Error).message})`);
      }
  }
}

/**
 * Reads every declared setting from `env`. Values are coerced to their type; a bad one throws a
 * ConfigError naming the exact variable. Pass the result to `new Celeriac(...)`.
 * @example
 * const app = new Celeriac(loadConfig({ env: process.env, prefix: 'CELERIAC_' }));
 */
export function loadConfig(options: LoadConfigOptions): Partial<CeleriacSettings> {
  const prefix = options.prefix ?? 'CELERIAC_';
  const out: Record<string, unknown> = {};
  const known = new Set<string>();
  for (const name of SETTING_NAMES) {
    const spec = SETTINGS[name];
    const variable = prefix + spec.celeryName.toUpperCase();
    known.add(variable);
    const raw = options.env[variable];
    if (raw === undefined || spec.codeOnly) continue;
    const value = coerce(variable, spec, raw);
    checkSettingValue(variable, spec, value, `Environment variable ${variable}`);
    out[name] = value;
  }
  if (options.onUnknown) {
    const knownList = [...known];
    for (const variable of Object.keys(options.env)) {
      if (variable.startsWith(prefix) && !known.has(variable)) options.onUnknown(variable, nearest(variable, knownList));
    }
  }
  return out;
}
