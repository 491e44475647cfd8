/**
 * Task replacement (Celery's `Task.replace`): the running task hands its place in the workflow to a
 * signature. The replacement takes the task's id (so whoever waits on it gets the replacement's
 * result), its callbacks and errbacks, its group/chord membership, and the rest of its chain. A
 * group is first lifted to `chord(group, celery.accumulate)` so that one task reports its results.
 */
import { Ignore } from '../errors';
import type { TaskContext } from '../task/task-context';
import { Chain } from './chain';
import { liftGroupToChord } from './chord';
import { signatureFromDict } from './from-dict';
import { Group } from './group';
import type { AnySignature } from './signature';

export async function replaceTask<R>(ctx: TaskContext, replacement: AnySignature): Promise<R> {
  const req = ctx.request;
  const hostRef = replacement.hostOrUndefined();
  let sig: AnySignature = replacement.copy();
  if (sig instanceof Group) sig = liftGroupToChord(sig);
  for (const cb of req.callbacks ?? []) sig.link(signatureFromDict(cb, hostRef));
  for (const eb of req.errbacks ?? []) sig.onError(signatureFromDict(eb, hostRef));
  sig.freeze(req.id);
  if (req.groupId) sig = sig.asMember(req.groupId, req.groupIndex, req.chord);
  if (req.chain?.length) sig = new Chain([sig, ...[...req.chain].reverse().map((d) => signatureFromDict(d, hostRef))], {}, hostRef);
  const ids = { root_id: req.rootId, parent_id: req.id };
  if (req.isEager) return (await (await sig.run([], {}, ids)).get()) as R;
  await sig.run([], {}, ids);
  throw new Ignore(`Replaced by ${replacement.task}`);
}
