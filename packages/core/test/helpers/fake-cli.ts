/**
 * The `celeriac` command line run in-process: a fresh module registry (so a fixture app's settings
 * start clean every time) and a fake process (captured stdout/stderr, a fake signal source, canned
 * prompt answers, a mock exit), working in test/fixtures/cli.
 */
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import type * as CoreModule from '../../src';
import type { CliContext } from '../../src/cli/load-app';
import type * as MainModule from '../../src/cli/main';

export type Core = typeof CoreModule;
export type Main = typeof MainModule;

export const CLI_FIXTURES = resolve(__dirname, '../fixtures/cli');

/** `main` and the core module from a fresh registry. */
export function freshCli(): { main: Main['main']; core: Core } {
  jest.resetModules();
  /* eslint-disable @typescript-eslint/no-require-imports */
  const core = require('../../src') as Core;
  const { main } = require('../../src/cli/main') as Main;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { main, core };
}

export interface FakeProcess {
  ctx: CliContext;
  stdout: () => string;
  stderr: () => string;
  signals: EventEmitter;
  exit: jest.Mock;
  /** Answers the prompt takes in order ('' once they run out); each question goes to stderr. */
  answers: string[];
}

export function fakeProcess(options: { tty?: boolean; env?: Record<string, string | undefined>; answers?: string[] } = {}): FakeProcess {
  const out: string[] = [];
  const err: string[] = [];
  const signals = new EventEmitter();
  const exit = jest.fn();
  const answers = [...(options.answers ?? [])];
  const ctx: CliContext = {
    env: options.env ?? {},
    cwd: CLI_FIXTURES,
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    stdinIsTTY: options.tty ?? false,
    prompt: async (q) => {
      err.push(q);
      return answers.shift() ?? '';
    },
    signals: { on: (s, l) => signals.on(s, l), off: (s, l) => signals.off(s, l) },
    exit,
  };
  return { ctx, stdout: () => out.join(''), stderr: () => err.join(''), signals, exit, answers };
}
