/**
 * An AMQP message as a WireMessage: headers back to plain values (amqp-headers.ts) and the basic
 * properties Celery uses (celery-wire.md §4.2), each present only when the message carried it.
 */
import type { Message } from 'amqplib';
import type { WireMessage, WireProperties } from '../../protocol/wire-message';
import { decodeHeaders } from './amqp-headers';

export function decodeDelivery(msg: Message): WireMessage {
  const p = msg.properties;
  const properties: WireProperties = {};
  if (p.correlationId !== undefined) properties.correlationId = String(p.correlationId);
  if (p.replyTo !== undefined) properties.replyTo = String(p.replyTo);
  if (p.deliveryMode !== undefined) properties.deliveryMode = Number(p.deliveryMode);
  if (p.priority !== undefined) properties.priority = Number(p.priority);
  if (p.expiration !== undefined) properties.expiration = String(p.expiration);
  return {
    headers: decodeHeaders(p.headers),
    properties,
    contentType: p.contentType === undefined ? '' : String(p.contentType),
    contentEncoding: p.contentEncoding === undefined ? '' : String(p.contentEncoding),
    body: msg.content,
  };
}
