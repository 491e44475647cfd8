import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { DecodeError, EncodeError } from '../../src/errors';
import { compress, decompress } from '../../src/protocol/compression';
import { createTaskMessage, decodeTaskMessage, encodeTaskMessage } from '../../src/protocol/message-v2';

const PYTHON = '/usr/bin/python3';
const KOMBU_COMPRESSION = '/usr/lib/python3/dist-packages/kombu/compression.py';

/** Runs a Python snippet; `data` is the parsed stdin JSON; the snippet prints JSON. */
function python(script: string, data: unknown): unknown {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: these checks need python3-kombu.`);
  const prelude = 'import json, sys, zlib\nfrom kombu import compression\ndata = json.load(sys.stdin)\n';
  const py = spawnSync(PYTHON, ['-c', prelude + script], { input: JSON.stringify(data), encoding: 'utf8' });
  if (py.status !== 0) throw new Error(`python3 failed: ${py.stderr}`);
  return JSON.parse(py.stdout);
}

const BODY = Buffer.from(JSON.stringify([[1, 2], { text: 'h\u00e9llo '.repeat(200) }, { callbacks: null, errbacks: null, chain: null, chord: null }]), 'utf8');

describe('compression content types match Kombu 5.2 registrations', () => {
  it('zlib and gzip are aliases of application/x-gzip; brotli is application/x-brotli (kombu/compression.py)', () => {
    if (!existsSync(KOMBU_COMPRESSION)) throw new Error(`${KOMBU_COMPRESSION} is missing: install python3-kombu.`);
    const source = readFileSync(KOMBU_COMPRESSION, 'utf8');
    expect(source).toMatch(/register\(zlib\.compress,\s*zlib\.decompress,\s*'application\/x-gzip', aliases=\['gzip', 'zlib'\]\)/);
    expect(source).toMatch(/'application\/x-brotli', aliases=\['brotli'\]/);
    expect(compress(BODY, 'gzip').header).toBe('application/x-gzip');
    expect(compress(BODY, 'zlib').header).toBe('application/x-gzip');
    expect(compress(BODY, 'brotli').header).toBe('application/x-brotli');
  });

  it('agrees with the aliases the installed kombu resolves at run time', () => {
    const aliases = python('print(json.dumps({"gzip": compression.get_encoder("gzip")[1], "zlib": compression.get_encoder("zlib")[1]}))', null);
    expect(aliases).toEqual({ gzip: compress(BODY, 'gzip').header, zlib: compress(BODY, 'zlib').header });
  });
});

describe('zlib stream under application/x-gzip, checked against Python', () => {
  it('Python (zlib.decompress and kombu.compression.decompress) reads what we compress', () => {
    for (const name of ['gzip', 'zlib']) {
      const { body, header } = compress(BODY, name);
      // A zlib stream (RFC 1950) starts with 0x78; a gzip file (RFC 1952) would start with 1f 8b and break Python.
      expect(body[0]).toBe(0x78);
      const out = python('b = bytes.fromhex(data["hex"])\nprint(json.dumps([zlib.decompress(b).hex(), compression.decompress(b, data["header"]).hex()]))', {
        hex: body.toString('hex'),
        header,
      });
      expect(out).toEqual([BODY.toString('hex'), BODY.toString('hex')]);
    }
  });

  it('we read what Python compresses (zlib.compress and kombu.compression.compress)', () => {
    const [zlibHex, kombuHex, header] = python(
      'b = bytes.fromhex(data)\nbody, ct = compression.compress(b, "zlib")\nprint(json.dumps([zlib.compress(b, 9).hex(), body.hex(), ct]))',
      BODY.toString('hex'),
    ) as [string, string, string];
    expect(header).toBe('application/x-gzip');
    expect(decompress(Buffer.from(zlibHex, 'hex'), 'application/x-gzip')).toEqual(BODY);
    expect(decompress(Buffer.from(kombuHex, 'hex'), header)).toEqual(BODY);
    // Kombu also resolves the aliases on decompress; so do we.
    expect(decompress(Buffer.from(kombuHex, 'hex'), 'zlib')).toEqual(BODY);
    expect(decompress(Buffer.from(kombuHex, 'hex'), 'gzip')).toEqual(BODY);
  });

  it('brotli round-trips', () => {
    const { body, header } = compress(BODY, 'brotli');
    expect(decompress(body, header)).toEqual(BODY);
    expect(decompress(body, 'brotli')).toEqual(BODY);
  });

  it('a task message compressed by Python decodes', () => {
    const hex = python('print(json.dumps(compression.compress(bytes.fromhex(data), "gzip")[0].hex()))', BODY.toString('hex')) as string;
    const msg = decodeTaskMessage(
      {
        headers: { task: 'tasks.add', id: 'c0ffee00-0000-4000-8000-000000000001', compression: 'application/x-gzip' },
        properties: {},
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        body: Buffer.from(hex, 'hex'),
      },
      ['json'],
    );
    expect(msg.args).toEqual([1, 2]);
    expect(msg.kwargs).toEqual({ text: 'h\u00e9llo '.repeat(200) });
    expect(msg.customHeaders).toEqual({});
  });

  it('a task message we compress carries the compression header and decodes back', () => {
    const message = createTaskMessage({ id: 'c0ffee00-0000-4000-8000-000000000002', task: 'tasks.add', args: [1, 2], kwargs: { big: 'x'.repeat(1000) } });
    const wire = encodeTaskMessage(message, { compression: 'zlib' });
    expect(wire.headers.compression).toBe('application/x-gzip');
    expect(wire.body.length).toBeLessThan(200);
    const back = decodeTaskMessage(wire, ['json']);
    expect(back.args).toEqual([1, 2]);
    expect(back.kwargs).toEqual({ big: 'x'.repeat(1000) });
    // The header is transport metadata, not a custom header to send on again.
    expect(back.customHeaders).toEqual({});
  });
});

describe('compression errors', () => {
  it('an unknown compression name is an EncodeError naming the choices', () => {
    expect(() => compress(BODY, 'bzip2')).toThrow(EncodeError);
    expect(() => compress(BODY, 'lzma')).toThrow(/use gzip, zlib or brotli/);
  });

  it('an unsupported header (bzip2 from Python) is a DecodeError', () => {
    expect(() => decompress(BODY, 'application/x-bz2')).toThrow(DecodeError);
    expect(() => decompress(BODY, 'application/x-bz2')).toThrow(/Unsupported compression "application\/x-bz2"/);
  });

  it('corrupt or gzip-file bytes under application/x-gzip are a DecodeError (Kombu would fail too)', () => {
    expect(() => decompress(Buffer.from('not compressed'), 'application/x-gzip')).toThrow(DecodeError);
    expect(() => decompress(gzipSync(BODY), 'application/x-gzip')).toThrow(DecodeError);
    expect(() => decompress(Buffer.from('not compressed'), 'application/x-brotli')).toThrow(DecodeError);
  });
});
