/** `celeriac-beat-db beat -A <module>`: the database scheduler until SIGINT/SIGTERM. (Filled in once the scheduler lands.) */
import type { CliIo } from './main';

export interface BeatCommandOptions {
  app: string;
  url: string | undefined;
  migrate: boolean;
}

export async function runBeatCommand(_options: BeatCommandOptions, io: CliIo): Promise<number> {
  io.stderr('error: not available yet\n');
  return 1;
}
