/**
 * Body compression as Kombu does it (kombu/compression.py): the `compression` header carries a
 * content type; 'zlib' and 'gzip' are both zlib streams under `application/x-gzip`.
 */
import { brotliCompressSync, brotliDecompressSync, deflateSync, inflateSync } from 'node:zlib';
import { DecodeError, EncodeError } from '../errors';

export type CompressionName = 'gzip' | 'zlib' | 'brotli';

const CONTENT_TYPES: Record<CompressionName, string> = {
  gzip: 'application/x-gzip',
  zlib: 'application/x-gzip',
  brotli: 'application/x-brotli',
};

/** Compresses a body; returns the bytes and the header value to send. */
export function compress(body: Buffer, name: string): { body: Buffer; header: string } {
  switch (name) {
    case 'gzip':
    case 'zlib':
      return { body: deflateSync(body), header: CONTENT_TYPES.zlib };
    case 'brotli':
      return { body: brotliCompressSync(body), header: CONTENT_TYPES.brotli };
    default:
      throw new EncodeError(`Unknown compression "${name}": use gzip, zlib or brotli.`);
  }
}

/** Decompresses a body given the `compression` header's value. */
export function decompress(body: Buffer, header: string): Buffer {
  try {
    switch (header) {
      case 'application/x-gzip':
      case 'gzip':
      case 'zlib':
        return inflateSync(body);
      case 'application/x-brotli':
      case 'brotli':
        return brotliDecompressSync(body);
    }
  } catch (err) {
    throw new DecodeError(`Cannot decompress body (${header}): ${(err as Error).message}`, { cause: err });
  }
  throw new DecodeError(`Unsupported compression "${header}": this worker reads application/x-gzip and application/x-brotli.`);
}
