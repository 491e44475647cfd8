/** A body serializer, registered under Kombu's name and content type. */
export interface Serializer {
  /** Kombu's name: 'json', 'msgpack'. */
  readonly name: string;
  readonly contentType: string;
  readonly contentEncoding: string;
  encode(value: unknown): Buffer;
  decode(body: Buffer): unknown;
}
