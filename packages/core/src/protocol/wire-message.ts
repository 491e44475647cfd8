/**
 * A message as every transport carries it: a header table, AMQP-style properties and an encoded body.
 * Brokers move WireMessages; only protocol/ knows what is inside.
 */
export interface WireProperties {
  correlationId?: string;
  replyTo?: string;
  /** 2 = persistent, 1 = transient. */
  deliveryMode?: number;
  priority?: number;
  /** Milliseconds as a decimal string (AMQP per-message TTL); carried but ignored on Redis. */
  expiration?: string;
}

export interface WireMessage {
  headers: Record<string, unknown>;
  properties: WireProperties;
  contentType: string;
  contentEncoding: string;
  body: Buffer;
}
