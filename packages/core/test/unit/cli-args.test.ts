// Argument parsing of the `celeriac` command: flag values, usage errors (exit 2, naming the flag),
// --help and --version. Nothing here reaches a broker.
import { InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { applyOptionsOf, parseArgsJson, parseEta, parseExpires, parseKwargsJson } from '../../src/cli/commands/call.command';
import { parseInteger, parseList, parseSeconds, type CliContext } from '../../src/cli/load-app';
import { cliVersion, exitCodeFor, main } from '../../src/cli/main';
import { ConfigError } from '../../src';

const FIXTURES = resolve(__dirname, '../fixtures/cli');

function context(env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    env,
    cwd: FIXTURES,
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    stdinIsTTY: false,
    prompt: async () => '',
    signals: { on: () => undefined, off: () => undefined },
    exit: () => undefined,
  };
  return { ctx, out: () => out.join(''), err: () => err.join('') };
}

async function run(args: string[], env: Record<string, string | undefined> = {}) {
  const c = context(env);
  const code = await main(args, c.ctx);
  return { code, stdout: c.out(), stderr: c.err() };
}

describe('flag value parsers', () => {
  it('--args takes a JSON array, keeping big integers', () => {
    expect(parseArgsJson('[2, 3]')).toEqual([2, 3]);
    expect(parseArgsJson('[12345678901234567890]')).toEqual([12345678901234567890n]);
    expect(() => parseArgsJson('{"x": 1}')).toThrow(/JSON array/);
    expect(() => parseArgsJson('[2,')).toThrow(InvalidArgumentError);
  });

  it('--kwargs takes a JSON object', () => {
    expect(parseKwargsJson('{"x": 2}')).toEqual({ x: 2 });
    expect(() => parseKwargsJson('[1]')).toThrow(/JSON object/);
    expect(() => parseKwargsJson('null')).toThrow(/JSON object/);
  });

  it('--eta is ISO 8601, UTC when it has no zone', () => {
    expect(parseEta('2030-01-31T12:00:00Z').toISOString()).toBe('2030-01-31T12:00:00.000Z');
    expect(parseEta('2030-01-31T12:00:00').toISOString()).toBe('2030-01-31T12:00:00.000Z');
    expect(parseEta('2030-01-31T12:00:00+02:00').toISOString()).toBe('2030-01-31T10:00:00.000Z');
    expect(() => parseEta('tomorrow')).toThrow(/ISO 8601/);
    expect(() => parseEta('12')).toThrow(/ISO 8601/);
  });

  it('--expires is seconds or a date-time', () => {
    expect(parseExpires('30')).toBe(30);
    expect(parseExpires('1.5')).toBe(1.5);
    expect(parseExpires('2030-01-31T12:00:00Z')).toEqual(new Date('2030-01-31T12:00:00Z'));
    expect(() => parseExpires('soon')).toThrow(/seconds from now or an ISO 8601/);
  });

  it('lists, integers and seconds', () => {
    expect(parseList('a, b,,c', undefined)).toEqual(['a', 'b', 'c']);
    expect(parseList('d', ['a'])).toEqual(['a', 'd']);
    expect(() => parseList(' , ', undefined)).toThrow(/one or more names/);
    expect(parseInteger(1)('4')).toBe(4);
    expect(() => parseInteger(1)('0')).toThrow('Expected an integer >= 1.');
    expect(() => parseInteger(0, 255)('2.5')).toThrow('Expected an integer from 0 to 255.');
    expect(parseSeconds('0.25')).toBe(0.25);
    expect(() => parseSeconds('-1')).toThrow(/>= 0/);
  });

  it('only the flags given become apply options', () => {
    expect(applyOptionsOf({ args: [1], countdown: 5, queue: 'q' })).toEqual({ countdown: 5, queue: 'q' });
    expect(applyOptionsOf({ priority: 0, serializer: 'msgpack', expires: 10 })).toEqual({ priority: 0, serializer: 'msgpack', expires: 10 });
  });
});

describe('exit codes', () => {
  it('a ConfigError keyed by a flag is a usage error; keyed by a setting, a runtime one', () => {
    expect(exitCodeFor(new ConfigError('-A', 'x'))).toBe(2);
    expect(exitCodeFor(new ConfigError('brokerUrl', 'x'))).toBe(1);
    expect(exitCodeFor(new Error('x'))).toBe(1);
  });
});

describe('celeriac (argument errors exit 2 and say which flag)', () => {
  it('bad JSON in --args names the flag', async () => {
    const r = await run(['call', 'math.add', '-A', 'src-app.js', '--args', '[2,']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: option '-a, --args <json>' argument '[2,' is invalid. Not valid JSON");
    expect(r.stdout).toBe('');
  });

  it('--kwargs must be an object', async () => {
    const r = await run(['call', 'math.add', '-A', 'src-app.js', '--kwargs', '[1]']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("option '-k, --kwargs <json>' argument '[1]' is invalid. Expected a JSON object");
  });

  it('rejects --countdown with --eta, a bad --serializer, a bad -c and unknown flags', async () => {
    expect((await run(['call', 'x', '--countdown', '1', '--eta', '2030-01-01T00:00:00Z'])).stderr).toContain("option '--countdown <seconds>' cannot be used with option '--eta <datetime>'");
    const ser = await run(['call', 'x', '--serializer', 'pickle']);
    expect(ser).toMatchObject({ code: 2, stderr: expect.stringContaining('Allowed choices are json, msgpack') });
    const c = await run(['worker', '-c', '0']);
    expect(c).toMatchObject({ code: 2, stderr: expect.stringContaining("option '-c, --concurrency <n>' argument '0' is invalid. Expected an integer >= 1.") });
    const l = await run(['worker', '-l', 'loud']);
    expect(l).toMatchObject({ code: 2, stderr: expect.stringContaining('Expected one of trace, debug, info, warn, warning, error, fatal, critical, silent') });
    expect((await run(['worker', '--frobnicate'])).code).toBe(2);
    expect((await run(['frobnicate'])).code).toBe(2);
    expect((await run(['call'])).stderr).toContain("missing required argument 'name'");
  });

  it('asks for -A when neither it nor CELERIAC_APP is given', async () => {
    const r = await run(['call', 'math.add']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: No app given: pass -A path/to/module[:exportName] (e.g. -A dist/worker.js:app) or set CELERIAC_APP.\n');
  });

  it('an -A that names no app is a usage error listing the exports', async () => {
    const r = await run(['purge', '-A', 'no-app.js', '-f']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Module no-app.js exports no Celeriac app. Exports found: helper (function), answer (number), settings (object).');
  });

  it('--version and --help print to stdout and exit 0', async () => {
    const v = await run(['--version']);
    expect(v).toEqual({ code: 0, stdout: `${cliVersion()}\n`, stderr: '' });
    expect(cliVersion()).toMatch(/^\d+\.\d+\.\d+/);
    const h = await run(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('Usage: celeriac [options] [command]');
    for (const cmd of ['worker', 'call', 'result', 'purge']) expect(h.stdout).toContain(`\n  ${cmd} `);
    const w = await run(['worker', '--help']);
    expect(w.code).toBe(0);
    for (const flag of ['-Q, --queues', '-X, --exclude-queues', '-c, --concurrency', '-n, --hostname', '-l, --loglevel', '--prefetch-multiplier', '--disable-prefetch', '-b, --broker', '--result-backend', '-A, --app']) {
      expect(w.stdout).toContain(flag);
    }
    expect(w.stdout).toContain('Settings, highest precedence first');
  });
});
