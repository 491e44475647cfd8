/**
 * What every `celeriac` command shares: the process it talks to (`CliContext`), finding the app
 * named by `-A` (Celery's `--app`), and settling its settings before the broker is first used.
 *
 * ```text
 * -A path/to/module              require()d relative to the cwd (.js, .cjs, .json, dir/index.js; then a package name)
 * -A path/to/module:exportName   that export
 * without :exportName            `default`, else `app`, else the only export that is a Celeriac app
 * CELERIAC_APP=path[:export]     used when -A is not given
 * ```
 *
 * Settings precedence, highest first: CLI flags (-b, --result-backend, -l) > what the app module
 * passed to `new Celeriac(...)` > CELERIAC_* environment variables > built-in defaults. An env var
 * only fills a setting the app module left at its default (Celery, by contrast, lets
 * CELERY_BROKER_URL beat the app's config). Settings are validated in the constructor, so overrides
 * are applied by re-validating and mutating `app.conf` before the CLI first touches `app.broker`.
 * An app module that already connected while being loaded keeps the broker it made (we warn).
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import { extname, isAbsolute, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Celeriac } from '../app/celeriac';
import { loadConfig } from '../app/env';
import { SETTINGS, type CeleriacSettings } from '../app/settings';
import { validateSettings } from '../app/validate-settings';
import { ConfigError } from '../errors';
import { normalizeLevel } from '../logging/logger';

/** The process a command runs in; tests pass their own. */
export interface CliContext {
  readonly env: Record<string, string | undefined>;
  readonly cwd: string;
  /** Writes to standard output (results, ids, the banner). */
  readonly stdout: (text: string) => void;
  /** Writes to standard error (errors, warnings, prompts). */
  readonly stderr: (text: string) => void;
  /** Whether a person can answer a question on stdin. */
  readonly stdinIsTTY: boolean;
  /** Asks a question on the terminal; resolves with the answer. */
  readonly prompt: (question: string) => Promise<string>;
  /** Where the worker listens for SIGINT, SIGTERM and SIGQUIT. */
  readonly signals: {
    on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
    off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  };
  /** Ends the process now (a third shutdown signal). */
  readonly exit: (code: number) => void;
}

/** The env var read when -A is not given. */
export const APP_ENV_VAR = 'CELERIAC_APP';

/** `-A` split into the module to load and the export to pick. */
export interface AppSpec {
  module: string;
  exportName: string | undefined;
}

/** The app a command works on, and where it came from (for the banner). */
export interface LoadedApp {
  app: Celeriac;
  /** Absolute path of the loaded module file. */
  file: string;
  /** The export the app was found under ('module.exports' when the module is the app). */
  exportName: string;
}

export interface LoadAppOptions {
  /** Base of relative paths. @defaultValue process.cwd() */
  cwd?: string;
  /** Whether `.ts` files can be required (a TS loader is active). @defaultValue detected */
  typescript?: boolean;
}

/** Settings the CLI flags set; undefined ones are left alone. */
export type CliOverrides = Partial<Pick<CeleriacSettings, 'brokerUrl' | 'resultBackend' | 'workerLogLevel'>>;

const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts']);
const MAX_LISTED = 20;

/** Splits `path/to/module:exportName`. A colon followed by a path (`C:\app`) is not a separator. */
export function parseAppSpec(spec: string): AppSpec {
  const trimmed = spec.trim();
  if (!trimmed) throw new ConfigError('-A', `-A needs a module path, e.g. -A dist/worker.js or -A dist/worker.js:app.`);
  const match = /^(.+):([A-Za-z_$][\w$]*)$/.exec(trimmed);
  if (match) return { module: match[1]!, exportName: match[2]! };
  return { module: trimmed, exportName: undefined };
}

/** True for a Celeriac app, also one built by another copy of @celeriac/core (duck-typed on conf + tasks). */
export function isCeleriacApp(value: unknown): value is Celeriac {
  if (value instanceof Celeriac) return true;
  if (!value || typeof value !== 'object') return false;
  const v = value as { conf?: unknown; tasks?: unknown };
  return (
    !!v.conf &&
    typeof v.conf === 'object' &&
    typeof (v.conf as { brokerUrl?: unknown }).brokerUrl === 'string' &&
    !!v.tasks &&
    typeof (v.tasks as { get?: unknown }).get === 'function' &&
    typeof (v.tasks as { names?: unknown }).names === 'function'
  );
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'function') return 'function';
  if (typeof value === 'object') {
    const name = value.constructor?.name;
    return name && name !== 'Object' ? name : 'object';
  }
  return typeof value;
}

/**
 * Picks the app out of a loaded module: the named export, else `default`, else `app`, else the only
 * export that is a Celeriac app. `where` names the module in error messages.
 */
export function pickApp(moduleExports: unknown, exportName: string | undefined, where: string): { app: Celeriac; exportName: string } {
  if (isCeleriacApp(moduleExports) && !exportName) return { app: moduleExports, exportName: 'module.exports' };
  const exports = moduleExports !== null && (typeof moduleExports === 'object' || typeof moduleExports === 'function') ? (moduleExports as Record<string, unknown>) : {};
  const names = Object.keys(exports).filter((k) => k !== '__esModule');
  const shown = names.slice(0, MAX_LISTED).map((n) => `${n} (${describeValue(exports[n])})`);
  if (names.length > MAX_LISTED) shown.push(`... ${names.length - MAX_LISTED} more`);
  const listing = shown.length ? shown.join(', ') : 'none';
  if (exportName) {
    if (!(exportName in exports)) {
      throw new ConfigError('-A', `Module ${where} has no export "${exportName}". Exports found: ${listing}.`);
    }
    const value = exports[exportName];
    if (!isCeleriacApp(value)) {
      throw new ConfigError('-A', `Export "${exportName}" of ${where} is a ${describeValue(value)}, not a Celeriac app. Exports found: ${listing}.`);
    }
    return { app: value, exportName };
  }
  for (const preferred of ['default', 'app']) {
    if (isCeleriacApp(exports[preferred])) return { app: exports[preferred], exportName: preferred };
  }
  const apps = names.filter((n) => isCeleriacApp(exports[n]));
  if (apps.length === 1) return { app: exports[apps[0]!] as Celeriac, exportName: apps[0]! };
  if (apps.length > 1) {
    throw new ConfigError('-A', `Module ${where} exports several Celeriac apps (${apps.join(', ')}); name one: -A ${where}:${apps[0]}.`);
  }
  throw new ConfigError(
    '-A',
    `Module ${where} exports no Celeriac app. Exports found: ${listing}. ` +
      `Export the app (module.exports = { app } or export const app = new Celeriac(...)), or name it: -A ${where}:<exportName>.`,
  );
}

function typescriptAvailable(): boolean {
  // ts-node, tsx and @swc-node register a CommonJS hook for .ts; Node 22.10+ with type stripping sets features.typescript.
  const features = process.features as { typescript?: unknown };
  return Boolean(require.extensions?.['.ts']) || Boolean(features.typescript);
}

const TS_ADVICE =
  'Node cannot run TypeScript directly: build it first (npx tsc) and point -A at the compiled .js file, ' +
  'or run the CLI under a TypeScript loader (node -r ts-node/register ./node_modules/.bin/celeriac ..., or npx tsx ./node_modules/.bin/celeriac ...).';

function resolveModule(modulePath: string, cwd: string, typescript: boolean): string {
  const abs = isAbsolute(modulePath) ? modulePath : resolve(cwd, modulePath);
  if (TS_EXTENSIONS.has(extname(abs)) && !typescript) throw new ConfigError('-A', `Cannot load app module "${modulePath}": it is TypeScript. ${TS_ADVICE}`);
  const found = (file: string): string => {
    if (TS_EXTENSIONS.has(extname(file)) && !typescript) {
      throw new ConfigError('-A', `Cannot load app module "${modulePath}": found ${relative(cwd, file)}, which is TypeScript. ${TS_ADVICE}`);
    }
    return file;
  };
  try {
    return found(require.resolve(abs));
  } catch (err) {
    if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
  }
  const bare = !isAbsolute(modulePath) && !modulePath.startsWith('.') && !modulePath.includes('\\');
  if (bare) {
    try {
      return found(require.resolve(modulePath, { paths: [cwd] }));
    } catch (err) {
      if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
    }
  }
  const tsTwin = ['.ts', '.mts', '.cts', '/index.ts'].map((ext) => abs + ext).find((f) => existsSync(f));
  const hint = tsTwin && !typescript ? ` Found ${relative(cwd, tsTwin)}, which is TypeScript. ${TS_ADVICE}` : '';
  const tried = extname(abs) ? abs : `${abs}, ${abs}.js and ${abs}/index.js`;
  throw new ConfigError('-A', `Cannot find app module "${modulePath}" (looked for ${tried}).${hint}`);
}

/** Loads the module named by `-A` and picks its Celeriac app. */
export async function loadApp(spec: string, options: LoadAppOptions = {}): Promise<LoadedApp> {
  const cwd = options.cwd ?? process.cwd();
  const { module: modulePath, exportName } = parseAppSpec(spec);
  const file = resolveModule(modulePath, cwd, options.typescript ?? typescriptAvailable());
  let moduleExports: unknown;
  try {
    // require() keeps a CommonJS app in the same module registry as the tasks it imports.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    moduleExports = require(file);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_REQUIRE_ESM') throw err;
    moduleExports = await import(pathToFileURL(file).href);
  }
  const picked = pickApp(moduleExports, exportName, modulePath);
  return { app: picked.app, file, exportName: picked.exportName };
}

/** Structural equality of setting values, blind to prototypes (values may come from another realm). */
function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (!a || !b || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * Applies CELERIAC_* env vars (only to settings the app left at their default) and then the CLI
 * flags, re-validating the whole result; updates the app logger's level when it changed.
 */
export function applySettings(app: Celeriac, env: Record<string, string | undefined>, overrides: CliOverrides, warn: (text: string) => void): void {
  const fromEnv = loadConfig({
    env,
    prefix: 'CELERIAC_',
    onUnknown: (variable, suggestion) => {
      if (variable === APP_ENV_VAR) return;
      warn(`warning: environment variable ${variable} matches no setting${suggestion ? ` (did you mean ${suggestion}?)` : ''}; it is ignored.\n`);
    },
  });
  const conf = app.conf as unknown as Record<string, unknown>;
  const next: Record<string, unknown> = { ...conf };
  for (const [name, value] of Object.entries(fromEnv)) {
    const spec = SETTINGS[name as keyof CeleriacSettings];
    if (sameValue(conf[name], spec.default)) next[name] = value;
  }
  for (const [name, value] of Object.entries(overrides)) if (value !== undefined) next[name] = value;
  const changed = Object.keys(next).filter((k) => !sameValue(next[k], conf[k]));
  if (!changed.length) return;
  if (Reflect.get(app, 'brokerInstance') !== undefined && (changed.includes('brokerUrl') || changed.includes('brokerTransportOptions'))) {
    warn('warning: the app module already created its broker while loading; broker settings from the command line or environment may not apply.\n');
  }
  const checked = validateSettings(next);
  const levelBefore = app.conf.workerLogLevel;
  Object.assign(app.conf, checked);
  if (app.conf.workerLogLevel !== levelBefore) app.logger.level = normalizeLevel(app.conf.workerLogLevel);
}

/** Options every command accepts for finding and configuring its app. */
export interface AppOptions {
  app?: string;
  broker?: string;
  resultBackend?: string;
}

/** Adds -A, -b and --result-backend (accepted before the command name too, as Celery's). */
export function addAppOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-A, --app <module>', `app module, path/to/module[:exportName], relative to the cwd [env: ${APP_ENV_VAR}]`))
    .addOption(new Option('-b, --broker <url>', 'broker URL; overrides the app\'s brokerUrl [env: CELERIAC_BROKER_URL]'))
    .addOption(new Option('--result-backend <url>', 'result backend URL; overrides the app\'s resultBackend [env: CELERIAC_RESULT_BACKEND]'));
}

/** A command's options merged with the program's (`celeriac -A x worker`); the command's own win. */
export function commandOptions<T extends object>(cmd: Command): T {
  return { ...cmd.parent?.opts<Partial<T>>(), ...cmd.opts<T>() };
}

// Option parsers shared by the commands. Commander prefixes their errors with the flag's name.

/** Comma-separated names; repeated flags accumulate. */
export function parseList(value: string, previous: string[] | undefined): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (!names.length) throw new InvalidArgumentError('Expected one or more names separated by commas.');
  return [...(previous ?? []), ...names];
}

/** An integer parser with bounds. */
export function parseInteger(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`Expected an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}.`);
    }
    return n;
  };
}

/** A number of seconds (fractions allowed) >= 0. */
export function parseSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('Expected a number of seconds >= 0.');
  return n;
}

/** The message of an error for a one-line report; the stack for errors that are not ours. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && code.startsWith('CELERIAC_') ? err.message : (err.stack ?? err.message);
  }
  return String(err);
}

/**
 * Loads the app from -A (or CELERIAC_APP) and settles its settings. Throws ConfigError keyed "-A"
 * (a usage error, exit 2) when the app cannot be found.
 */
export async function openApp(ctx: CliContext, options: AppOptions, extra: CliOverrides = {}): Promise<LoadedApp> {
  const spec = options.app ?? ctx.env[APP_ENV_VAR];
  if (!spec) {
    throw new ConfigError('-A', `No app given: pass -A path/to/module[:exportName] (e.g. -A dist/worker.js:app) or set ${APP_ENV_VAR}.`);
  }
  const loaded = await loadApp(spec, { cwd: ctx.cwd });
  applySettings(loaded.app, ctx.env, { brokerUrl: options.broker, resultBackend: options.resultBackend, ...extra }, ctx.stderr);
  return loaded;
}
