/**
 * What Redis executes, seen through MONITOR on a connection of its own: for tests that pin how
 * commands are batched or ordered on the wire. Only commands `matches` accepts are kept (MONITOR
 * sees every client of the server: filter on the test's own key prefix).
 */
import Redis from 'ioredis';

export interface CommandWatch {
  /** The accepted commands' arguments (command name first), in the order Redis ran them. */
  readonly seen: string[][];
  stop(): void;
}

export async function watchCommands(url: string, matches: (args: string[]) => boolean): Promise<CommandWatch> {
  const client = new Redis(url);
  const monitor = await client.monitor();
  const seen: string[][] = [];
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (matches(args)) seen.push(args);
  });
  return {
    seen,
    stop: () => {
      monitor.disconnect();
      client.disconnect();
    },
  };
}
