// `-A`: how the CLI finds the app in a module, what it says when it cannot, and the precedence of
// CLI flags, the app module's settings and CELERIAC_* environment variables.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Celeriac, ConfigError, createLogger } from '../../src';
import { applySettings, isCeleriacApp, loadApp, openApp, parseAppSpec, pickApp, type CliContext } from '../../src/cli/load-app';

const FIXTURES = resolve(__dirname, '../fixtures/cli');
const quiet = () => createLogger('silent');

function context(env: Record<string, string | undefined> = {}): CliContext & { err: string[] } {
  const err: string[] = [];
  return {
    env,
    cwd: FIXTURES,
    stdout: () => undefined,
    stderr: (t) => void err.push(t),
    stdinIsTTY: false,
    prompt: async () => '',
    signals: { on: () => undefined, off: () => undefined },
    exit: () => undefined,
    err,
  };
}

describe('parseAppSpec', () => {
  it('splits module and export name', () => {
    expect(parseAppSpec('dist/worker.js')).toEqual({ module: 'dist/worker.js', exportName: undefined });
    expect(parseAppSpec('dist/worker.js:celeryApp')).toEqual({ module: 'dist/worker.js', exportName: 'celeryApp' });
    expect(parseAppSpec('./proj:app')).toEqual({ module: './proj', exportName: 'app' });
  });

  it('does not take a drive letter for an export name', () => {
    expect(parseAppSpec('C:\\proj\\worker.js')).toEqual({ module: 'C:\\proj\\worker.js', exportName: undefined });
  });

  it('rejects an empty spec', () => {
    expect(() => parseAppSpec('  ')).toThrow(ConfigError);
  });
});

describe('pickApp', () => {
  const a = new Celeriac({ logger: quiet() });
  const b = new Celeriac({ logger: quiet() });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('takes the named export first', () => {
    expect(pickApp({ app: a, other: b }, 'other', 'm.js')).toEqual({ app: b, exportName: 'other' });
  });

  it('then default, then app', () => {
    expect(pickApp({ app: a, default: b }, undefined, 'm.js')).toEqual({ app: b, exportName: 'default' });
    expect(pickApp({ app: a, x: b }, undefined, 'm.js')).toEqual({ app: a, exportName: 'app' });
  });

  it('then the only export that is an app', () => {
    expect(pickApp({ helper: () => 1, celery: a, n: 3 }, undefined, 'm.js')).toEqual({ app: a, exportName: 'celery' });
  });

  it('takes a module that is the app itself', () => {
    expect(pickApp(a, undefined, 'm.js')).toEqual({ app: a, exportName: 'module.exports' });
  });

  it('asks for a name when several exports are apps', () => {
    expect(() => pickApp({ one: a, two: b }, undefined, 'm.js')).toThrow(/several Celeriac apps \(one, two\); name one: -A m\.js:one/);
  });

  it('lists the exports it found when none is an app', () => {
    const err = (() => {
      try {
        pickApp({ helper() {}, answer: 42, list: [1] }, undefined, 'proj/tasks.js');
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.key).toBe('-A');
    expect(err!.message).toContain('Module proj/tasks.js exports no Celeriac app');
    expect(err!.message).toContain('Exports found: helper (function), answer (number), list (array)');
    expect(err!.message).toContain('-A proj/tasks.js:<exportName>');
  });

  it('names a missing or wrong named export', () => {
    expect(() => pickApp({ app: a }, 'nope', 'm.js')).toThrow('Module m.js has no export "nope". Exports found: app (Celeriac).');
    expect(() => pickApp({ app: a, conf: { x: 1 } }, 'conf', 'm.js')).toThrow('Export "conf" of m.js is a object, not a Celeriac app');
  });

  it('accepts an app from another copy of the package by its shape', () => {
    const foreign = { conf: { brokerUrl: 'memory://' }, tasks: { get: () => undefined, names: () => [] } };
    expect(isCeleriacApp(foreign)).toBe(true);
    expect(isCeleriacApp({ conf: {}, tasks: {} })).toBe(false);
    expect(pickApp({ foreign }, undefined, 'm.js').exportName).toBe('foreign');
  });
});

describe('loadApp', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'celeriac-cli-'));
    writeFileSync(join(dir, 'typed.ts'), 'export const app = 1;\n');
    writeFileSync(join(dir, 'throws.js'), "throw new Error('boom while loading');\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('requires a path relative to the cwd, with or without .js', async () => {
    const loaded = await loadApp('src-app', { cwd: FIXTURES });
    expect(loaded.exportName).toBe('app');
    expect(loaded.file).toBe(join(FIXTURES, 'src-app.js'));
    expect(loaded.app.tasks.names()).toEqual(['cli.sleep', 'math.add']);
    const again = await loadApp(join(FIXTURES, 'src-app.js:app'), { cwd: '/' });
    expect(again.app).toBe(loaded.app);
  });

  it('takes a default export built by another copy of the package', async () => {
    const loaded = await loadApp('./foreign-app.js', { cwd: FIXTURES });
    expect(loaded.exportName).toBe('default');
    expect(loaded.app.conf.brokerUrl).toBe('memory://foreign');
  });

  it('lists the exports of a module without an app', async () => {
    await expect(loadApp('no-app.js', { cwd: FIXTURES })).rejects.toThrow(
      'Module no-app.js exports no Celeriac app. Exports found: helper (function), answer (number), settings (object).',
    );
  });

  it('says where it looked for a missing module', async () => {
    await expect(loadApp('missing/worker.js', { cwd: FIXTURES })).rejects.toThrow(`Cannot find app module "missing/worker.js" (looked for ${join(FIXTURES, 'missing/worker.js')})`);
  });

  it('tells the user to build a .ts module or use a loader', async () => {
    await expect(loadApp('typed.ts', { cwd: dir, typescript: false })).rejects.toThrow(/it is TypeScript\. Node cannot run TypeScript directly: build it first \(npx tsc\)/);
    await expect(loadApp('typed', { cwd: dir, typescript: false })).rejects.toThrow(/[Ff]ound typed\.ts, which is TypeScript\..*TypeScript loader/);
  });

  it('lets an error thrown by the module through (a runtime failure, not a usage error)', async () => {
    await expect(loadApp('throws.js', { cwd: dir })).rejects.toThrow('boom while loading');
  });

  it('uses CELERIAC_APP when -A is absent and explains when both are', async () => {
    const loaded = await openApp(context({ CELERIAC_APP: 'src-app.js:app' }), { broker: 'memory://load-app-test' });
    expect(loaded.app.conf.brokerUrl).toBe('memory://load-app-test');
    await expect(openApp(context(), {})).rejects.toThrow('No app given: pass -A path/to/module[:exportName] (e.g. -A dist/worker.js:app) or set CELERIAC_APP.');
  });
});

describe('applySettings precedence: CLI flags > app module > CELERIAC_* env > defaults', () => {
  const apps: Celeriac[] = [];
  const make = (options: ConstructorParameters<typeof Celeriac>[0] = {}) => {
    const app = new Celeriac({ logger: quiet(), ...options });
    apps.push(app);
    return app;
  };
  afterAll(() => Promise.all(apps.map((a) => a.close())));

  it('env fills only settings the app module left at their default', () => {
    const app = make({ brokerUrl: 'memory://from-app' });
    applySettings(app, { CELERIAC_BROKER_URL: 'memory://from-env', CELERIAC_TASK_DEFAULT_QUEUE: 'envq', CELERIAC_BROKER_TRANSPORT_OPTIONS: '{"globalKeyprefix":"p:"}' }, {}, () => undefined);
    expect(app.conf.brokerUrl).toBe('memory://from-app');
    expect(app.conf.taskDefaultQueue).toBe('envq');
    expect(app.conf.brokerTransportOptions).toEqual({ globalKeyprefix: 'p:' });
  });

  it('CLI flags beat both', () => {
    const app = make({ brokerUrl: 'memory://from-app' });
    applySettings(app, { CELERIAC_RESULT_BACKEND: 'memory://env' }, { brokerUrl: 'memory://from-flag', resultBackend: 'memory://flag' }, () => undefined);
    expect(app.conf.brokerUrl).toBe('memory://from-flag');
    expect(app.conf.resultBackend).toBe('memory://flag');
  });

  it('names a bad environment variable', () => {
    const app = make();
    expect(() => applySettings(app, { CELERIAC_WORKER_CONCURRENCY: 'many' }, {}, () => undefined)).toThrow(
      'Environment variable CELERIAC_WORKER_CONCURRENCY="many" is not valid: expected a number.',
    );
    expect(() => applySettings(app, { CELERIAC_BROKER_TRANSPORT_OPTIONS: '{"keyPrefix":"x"}' }, {}, () => undefined)).toThrow(
      'Unknown key "keyPrefix" in brokerTransportOptions.',
    );
  });

  it('warns about unknown CELERIAC_* variables, but not CELERIAC_APP', () => {
    const app = make();
    const warnings: string[] = [];
    applySettings(app, { CELERIAC_APP: 'x.js', CELERIAC_BROKER_URLL: 'memory://' }, {}, (t) => void warnings.push(t));
    expect(warnings).toEqual([expect.stringContaining('CELERIAC_BROKER_URLL matches no setting (did you mean CELERIAC_BROKER_URL?)')]);
  });

  it('-l changes the level of the app logger', () => {
    const app = new Celeriac({ workerLogLevel: 'silent' });
    apps.push(app);
    applySettings(app, {}, { workerLogLevel: 'warning' }, () => undefined);
    expect(app.conf.workerLogLevel).toBe('warning');
    expect(app.logger.level).toBe('warn');
  });
});
