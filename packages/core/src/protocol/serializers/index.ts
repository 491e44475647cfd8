/** Serializer registry: by Kombu name and by content type. Pickle and YAML are never registered. */
import { ContentDisallowedError, DecodeError, EncodeError } from '../../errors';
import { jsonSerializer } from './json';
import { msgpackSerializer } from './msgpack';
import type { Serializer } from './serializer';

export type { Serializer } from './serializer';
export { parseJson, stringifyJson } from './json';

const BY_NAME = new Map<string, Serializer>([
  ['json', jsonSerializer],
  ['msgpack', msgpackSerializer],
]);
const BY_CONTENT_TYPE = new Map<string, Serializer>([
  ['application/json', jsonSerializer],
  ['application/x-msgpack', msgpackSerializer],
  ['application/msgpack', msgpackSerializer],
]);

/** The serializer named `name` ('json', 'msgpack'). */
export function serializerByName(name: string): Serializer {
  const s = BY_NAME.get(name);
  if (!s) throw new EncodeError(`Unknown serializer "${name}": use json or msgpack.`);
  return s;
}

/** Decodes a body after checking its content type against the accept list (serializer names). */
export function decodeBody(body: Buffer, contentType: string | undefined, accept: readonly string[]): unknown {
  if (!contentType) throw new DecodeError('Message has no content type; refusing to guess how to decode it.');
  const serializer = BY_CONTENT_TYPE.get(contentType.toLowerCase());
  if (!serializer || !accept.includes(serializer.name)) throw new ContentDisallowedError(contentType);
  return serializer.decode(body);
}
