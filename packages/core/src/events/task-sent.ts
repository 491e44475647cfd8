/** The fields of Celery's `task-sent` event (celery/app/amqp.py as_task_v2 + send_task_message). */
import type { Route } from '../brokers/broker';
import { formatWireDate } from '../protocol/dates';
import type { TaskMessage } from '../protocol/message-v2';

/** The task's own fields, as Celery's `task-sent` and `task-received` both carry them. */
export function taskMessageFields(m: TaskMessage): Record<string, unknown> {
  return {
    uuid: m.id,
    root_id: m.rootId,
    parent_id: m.parentId,
    name: m.task,
    args: m.argsrepr,
    kwargs: m.kwargsrepr,
    retries: m.retries,
    eta: m.eta ? formatWireDate(m.eta) : null,
    expires: m.expires ? formatWireDate(m.expires) : null,
  };
}

export function taskSentFields(m: TaskMessage, queue: string | null, route: Route): Record<string, unknown> {
  return {
    ...taskMessageFields(m),
    queue,
    exchange: route.exchange,
    routing_key: route.routingKey,
  };
}
