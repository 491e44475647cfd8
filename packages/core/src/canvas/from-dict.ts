/**
 * Signatures from Celery's dict form, whatever their kind (Celery's `maybe_signature`): the way a
 * callback, a chain step or a chord body found in a message (maybe written by Python) becomes ours.
 */
import { DecodeError } from '../errors';
import type { SignatureDict } from '../protocol/message-v2';
import { Chain } from './chain';
import { Chord } from './chord';
import { ChunksSignature, MapSignature } from './chunks';
import { Group } from './group';
import { Signature, type AnySignature, type HostRef } from './signature';

const MODELLED = new Set(['task', 'args', 'kwargs', 'options', 'subtask_type', 'immutable']);

/** A Signature from its dict form (or the signature itself), bound to `host`. */
export function signatureFromDict(value: SignatureDict | AnySignature, host?: HostRef): AnySignature {
  if (value instanceof Signature) return host && !value.hostOrUndefined() ? value.bind(host) : value;
  if (!value || typeof value !== 'object' || typeof value.task !== 'string') {
    throw new DecodeError(`Not a signature: ${JSON.stringify(value)?.slice(0, 200)}`);
  }
  const options = (value.options && typeof value.options === 'object' ? { ...value.options } : {});
  const kwargs = (value.kwargs && typeof value.kwargs === 'object' ? value.kwargs : {});
  const extras: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (!MODELLED.has(k)) extras[k] = v;
  const init = { immutable: value.immutable === true, extras };
  const list = (v: unknown, what: string): SignatureDict[] => {
    if (!Array.isArray(v)) throw new DecodeError(`Signature ${value.task}: ${what} must be a list of signatures.`);
    return v as SignatureDict[];
  };
  switch (value.subtask_type ?? null) {
    case null:
      return new Signature({ task: value.task, args: Array.isArray(value.args) ? value.args : [], kwargs, options, subtaskType: null, ...init }, host);
    case 'chain':
      return new Chain(list(kwargs.tasks, 'kwargs.tasks').map((t) => signatureFromDict(t, host)), options, host, init);
    case 'group':
      return new Group(list(kwargs.tasks, 'kwargs.tasks').map((t) => signatureFromDict(t, host)), options, host, init);
    case 'chord': {
      const { header, body, ...rest } = kwargs;
      const headerSig = signatureFromDict(header as SignatureDict, host);
      const group = headerSig instanceof Group ? headerSig : new Group([headerSig], {}, host);
      return new Chord(group, signatureFromDict(body as SignatureDict, host), options, host, { ...init, kwargs: rest });
    }
    case 'xmap':
    case 'xstarmap':
      return new MapSignature(value.subtask_type as 'xmap' | 'xstarmap', kwargs.task as SignatureDict, list(kwargs.it, 'kwargs.it'), options, host, init);
    case 'chunks':
      return new ChunksSignature(kwargs.task as SignatureDict, list(kwargs.it, 'kwargs.it') as unknown as unknown[][], Number(kwargs.n), options, host, init);
    default:
      throw new DecodeError(`Signature ${value.task}: unknown subtask_type "${String(value.subtask_type)}".`);
  }
}
