/**
 * Makes a consumer's channel go silent on the RabbitMQ side, as a wedged channel process would: the
 * channel process is suspended (sys:suspend through rabbitmqctl eval), so the connection stays up,
 * heartbeats flow, and nothing is delivered on that channel. Always resume what you suspended.
 *
 * @example
 * const pids = await suspendConsumerChannels(vhost.name);
 * try { ... } finally { await resumeChannels(pids); }
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** An Erlang binary literal for a vhost name (rabbitmqctl eval). */
function binary(text: string): string {
  return `<<"${text.replace(/[\\"]/g, '\\$&')}">>`;
}

/** Applies `action` (an Erlang fun of a pid) to every channel of `vhost` that has consumers; returns their pids. */
async function onConsumerChannels(vhost: string, action: string): Promise<string[]> {
  const expr =
    `Ps = [P || P <- rabbit_channel:list(), node(P) =:= node(), ` +
    `[{vhost, V}, {consumer_count, C}] <- [rabbit_channel:info(P, [vhost, consumer_count])], V =:= ${binary(vhost)}, C > 0], ` +
    `[(${action})(P) || P <- Ps], [pid_to_list(P) || P <- Ps].`;
  const { stdout } = await run('rabbitmqctl', ['-q', 'eval', expr], { timeout: 20_000 });
  return [...stdout.matchAll(/<\d+\.\d+\.\d+>/g)].map((m) => m[0]);
}

/** Suspends every channel of `vhost` that has consumers; returns their pids (local form, for resumeChannels). */
export function suspendConsumerChannels(vhost: string): Promise<string[]> {
  return onConsumerChannels(vhost, 'fun sys:suspend/1');
}

/** Resumes channels suspended by suspendConsumerChannels (those gone meanwhile are skipped). */
export async function resumeChannels(pids: readonly string[]): Promise<void> {
  if (!pids.length) return;
  const list = pids.map((p) => `"${p}"`).join(', ');
  const expr = `[catch sys:resume(list_to_pid(P)) || P <- [${list}]], ok.`;
  await run('rabbitmqctl', ['-q', 'eval', expr], { timeout: 20_000 });
}
