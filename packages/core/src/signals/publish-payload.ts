/** before/afterTaskPublish arguments from a message about to be (or just) sent. */
import type { Route } from '../brokers/broker';
import type { TaskMessage } from '../protocol/message-v2';
import type { WireMessage } from '../protocol/wire-message';
import type { BeforeTaskPublishPayload } from './signal-types';

/** The wire headers and properties themselves, so a beforeTaskPublish listener's changes are sent. */
export function publishPayload(message: TaskMessage, wire: WireMessage, route: Route): BeforeTaskPublishPayload {
  return {
    name: message.task,
    body: [message.args, message.kwargs, { ...message.embed }],
    headers: wire.headers,
    properties: wire.properties,
    exchange: route.exchange,
    routingKey: route.routingKey,
  };
}
