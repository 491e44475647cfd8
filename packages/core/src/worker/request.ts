/** Builds the TaskRequest a task sees from the decoded message and where it came from. */
import type { DeliveryInfo } from '../brokers/broker';
import type { TaskMessage } from '../protocol/message-v2';
import type { TaskRequest } from '../task/task-context';

export function buildRequest(message: TaskMessage, hostname: string, deliveryInfo: DeliveryInfo | null, isEager: boolean): TaskRequest {
  return {
    id: message.id,
    name: message.task,
    args: message.args,
    kwargs: message.kwargs,
    retries: message.retries,
    eta: message.eta,
    expires: message.expires,
    hostname,
    rootId: message.rootId,
    parentId: message.parentId,
    groupId: message.group,
    groupIndex: message.groupIndex,
    correlationId: message.correlationId,
    replyTo: message.replyTo,
    origin: message.origin,
    timeLimit: message.timeLimit,
    ignoreResult: message.ignoreResult,
    headers: message.customHeaders,
    deliveryInfo,
    isEager,
    callbacks: message.embed.callbacks,
    errbacks: message.embed.errbacks,
    chain: message.embed.chain,
    chord: message.embed.chord,
  };
}
