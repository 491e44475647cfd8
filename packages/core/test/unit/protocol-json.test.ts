import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ContentDisallowedError, DecodeError, EncodeError } from '../../src/errors';
import { decodeBody, parseJson, serializerByName, stringifyJson } from '../../src/protocol/serializers';
import { jsonSerializer } from '../../src/protocol/serializers/json';
import { msgpackSerializer } from '../../src/protocol/serializers/msgpack';

const PYTHON = '/usr/bin/python3';
const BIG = 2n ** 53n + 1n; // 9007199254740993: not representable as a JS number

/** Runs Python with kombu's serializer registry; `script` reads `data` (the parsed stdin JSON) and prints JSON. */
function python(script: string, data: unknown): unknown {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: these checks need python3-kombu.`);
  const prelude = 'import json, sys, math\nfrom kombu.serialization import registry\ndata = json.load(sys.stdin)\n';
  const py = spawnSync(PYTHON, ['-c', prelude + script], { input: JSON.stringify(data), encoding: 'utf8' });
  if (py.status !== 0) throw new Error(`python3 failed: ${py.stderr}`);
  return JSON.parse(py.stdout);
}

describe('parseJson: JSON as Python writes it', () => {
  it('reads NaN, Infinity and -Infinity', () => {
    const v = parseJson('[NaN, Infinity, -Infinity, {"x": NaN}]') as unknown[];
    expect(v[0]).toBeNaN();
    expect(v[1]).toBe(Infinity);
    expect(v[2]).toBe(-Infinity);
    expect((v[3] as { x: number }).x).toBeNaN();
    expect(parseJson('NaN')).toBeNaN();
  });

  it('leaves strings that contain NaN/Infinity alone, escaped quotes included', () => {
    expect(parseJson('{"s": "NaN", "t": "say \\"NaN\\" and -Infinity", "NaN": NaN}')).toEqual({ s: 'NaN', t: 'say "NaN" and -Infinity', NaN: NaN });
    expect(parseJson('["Infinity", "\\\\", Infinity]')).toEqual(['Infinity', '\\', Infinity]);
    expect(parseJson('"1234567890123456789"')).toBe('1234567890123456789');
  });

  it('reads integers beyond 2^53 as exact BigInt, and safe ones as numbers', () => {
    expect(parseJson('9007199254740993')).toBe(BIG);
    expect(parseJson('{"big": 9007199254740993, "neg": -9007199254740993, "u64": 18446744073709551615, "ok": 9007199254740991}')).toEqual({
      big: BIG,
      neg: -BIG,
      u64: 2n ** 64n - 1n,
      ok: 9007199254740991,
    });
  });

  it('keeps long floats as numbers (no BigInt, no precision games)', () => {
    expect(parseJson('[0.30000000000000004, 3.141592653589793, 12345678901234567890.5, 1e400]')).toEqual([0.30000000000000004, 3.141592653589793, 12345678901234567000, Infinity]);
  });

  it('handles big ints and NaN in the same document', () => {
    const v = parseJson('[9007199254740993, NaN, "NaN"]') as unknown[];
    expect(v[0]).toBe(BIG);
    expect(v[1]).toBeNaN();
    expect(v[2]).toBe('NaN');
  });

  it('throws DecodeError for text that is not JSON', () => {
    expect(() => parseJson('{"a": ')).toThrow(DecodeError);
    expect(() => parseJson('[nan]')).toThrow(DecodeError);
    expect(() => parseJson('')).toThrow(DecodeError);
  });
});

describe('stringifyJson', () => {
  it('writes plain JSON for plain values', () => {
    expect(stringifyJson({ a: [1, 'x', null, true] })).toBe('{"a":[1,"x",null,true]}');
  });

  it('writes BigInt as a bare integer and NaN/Infinity as Python does', () => {
    expect(stringifyJson({ big: BIG })).toBe('{"big":9007199254740993}');
    expect(stringifyJson([NaN, Infinity, -Infinity, 1.5])).toBe('[NaN,Infinity,-Infinity,1.5]');
  });

  it('keeps JSON.stringify semantics on the lossless path (Date, undefined, toJSON)', () => {
    expect(stringifyJson({ d: new Date(0), u: undefined, arr: [undefined, 1], big: 1n })).toBe('{"d":"1970-01-01T00:00:00.000Z","arr":[null,1],"big":1}');
    expect(stringifyJson({ toJSON: () => ({ x: 2n ** 60n }) })).toBe('{"x":1152921504606846976}');
  });

  it('round-trips BigInt and non-finite numbers', () => {
    const value = { big: BIG, neg: -BIG, list: [NaN, Infinity, -Infinity, 'NaN', 0.1] };
    expect(parseJson(stringifyJson(value))).toEqual(value);
  });

  it('wraps failures in EncodeError', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => stringifyJson(cyclic)).toThrow(EncodeError);
  });
});

describe('json against Python kombu (run by /usr/bin/python3)', () => {
  it('decodes what kombu json.dumps wrote: NaN, ±Infinity, 2**53+1, strings with NaN', () => {
    const text = python(
      'print(json.dumps(registry.dumps([float("nan"), float("inf"), -float("inf"), 2**53 + 1, -(2**53 + 1), 2**64, "NaN", "-Infinity", {"NaN": 1.5}, 0.1 + 0.2, "h\\u00e9llo"], "json")[2]))',
      null,
    ) as string;
    const v = jsonSerializer.decode(Buffer.from(text, 'utf8')) as unknown[];
    expect(v[0]).toBeNaN();
    expect(v.slice(1)).toEqual([Infinity, -Infinity, BIG, -BIG, 2n ** 64n, 'NaN', '-Infinity', { NaN: 1.5 }, 0.30000000000000004, 'h\u00e9llo']);
  });

  it('writes JSON that kombu decodes to the same Python values', () => {
    const body = jsonSerializer.encode([NaN, Infinity, -Infinity, BIG, -BIG, 'NaN', { k: '\u00df' }, 1.5]);
    const reprs = python('v = registry.loads(data.encode("utf-8"), "application/json", "utf-8")\nprint(json.dumps([repr(x) for x in v]))', body.toString('utf8'));
    expect(reprs).toEqual(['nan', 'inf', '-inf', '9007199254740993', '-9007199254740993', "'NaN'", "{'k': 'ß'}", '1.5']);
  });
});

describe('msgpack', () => {
  it('is registered under Kombu\'s content type and encoding', () => {
    expect(msgpackSerializer.contentType).toBe('application/x-msgpack');
    expect(msgpackSerializer.contentEncoding).toBe('binary');
    expect(serializerByName('msgpack')).toBe(msgpackSerializer);
  });

  it('round-trips BigInt, NaN/Infinity and strings containing NaN', () => {
    const value = [BIG, -BIG, 2n ** 64n - 1n, NaN, Infinity, -Infinity, 'NaN', { n: 1, f: 1.5 }];
    expect(msgpackSerializer.decode(msgpackSerializer.encode(value))).toEqual(value);
  });

  it('decodes 64-bit ints that fit in a double as numbers', () => {
    // 0xcf = uint64 5; 0xd3 = int64 -5
    expect(msgpackSerializer.decode(Buffer.from('92cf0000000000000005d3fffffffffffffffb', 'hex'))).toEqual([5, -5]);
  });

  it('decodes what Python kombu msgpack wrote', () => {
    const hex = python(
      'print(json.dumps(registry.dumps([float("nan"), float("inf"), 2**53 + 1, 2**64 - 1, -2**63, "NaN", {"k": "\\u00df"}, b"\\x00\\x01", 7], "msgpack")[2].hex()))',
      null,
    ) as string;
    const v = msgpackSerializer.decode(Buffer.from(hex, 'hex')) as unknown[];
    expect(v[0]).toBeNaN();
    expect(v.slice(1, 7)).toEqual([Infinity, BIG, 2n ** 64n - 1n, -(2n ** 63n), 'NaN', { k: '\u00df' }]);
    expect(Buffer.from(v[7] as Uint8Array).toString('hex')).toBe('0001');
    expect(v[8]).toBe(7);
  });

  it('writes msgpack that kombu decodes to the same Python values', () => {
    const body = msgpackSerializer.encode([NaN, -Infinity, BIG, -(2n ** 63n), 'NaN', { k: '\u00df' }, 1.5, 3]);
    const reprs = python('v = registry.loads(bytes.fromhex(data), "application/x-msgpack", "binary", accept=["application/x-msgpack"])\nprint(json.dumps([repr(x) for x in v]))', body.toString('hex'));
    expect(reprs).toEqual(['nan', '-inf', '9007199254740993', '-9223372036854775808', "'NaN'", "{'k': 'ß'}", '1.5', '3']);
  });

  it('throws DecodeError for bytes that are not msgpack and EncodeError for values it cannot write', () => {
    expect(() => msgpackSerializer.decode(Buffer.from([0xc1]))).toThrow(DecodeError);
    // @msgpack/msgpack alone would wrap 2n ** 70n to 0: silent data corruption.
    expect(() => msgpackSerializer.encode(2n ** 70n)).toThrow(EncodeError);
    expect(() => msgpackSerializer.encode({ a: [-(2n ** 63n) - 1n] })).toThrow(/does not fit in 64 bits/);
  });
});

describe('decodeBody', () => {
  it('picks the serializer by content type and enforces the accept list', () => {
    expect(decodeBody(Buffer.from('[1]'), 'application/json', ['json'])).toEqual([1]);
    expect(decodeBody(Buffer.from('[1]'), 'Application/JSON', ['json'])).toEqual([1]);
    expect(decodeBody(msgpackSerializer.encode([1]), 'application/x-msgpack', ['json', 'msgpack'])).toEqual([1]);
    expect(() => decodeBody(msgpackSerializer.encode([1]), 'application/x-msgpack', ['json'])).toThrow(ContentDisallowedError);
    expect(() => decodeBody(Buffer.from('x'), 'application/x-python-serialize', ['json', 'msgpack'])).toThrow(ContentDisallowedError);
    expect(() => decodeBody(Buffer.from('x'), 'application/x-yaml', ['json', 'msgpack'])).toThrow(ContentDisallowedError);
  });

  it('refuses a message without a content type (it kills Python workers; we reject it)', () => {
    expect(() => decodeBody(Buffer.from('[[], {}, {}]'), undefined, ['json'])).toThrow(DecodeError);
    expect(() => decodeBody(Buffer.from('[[], {}, {}]'), '', ['json'])).toThrow(DecodeError);
  });

  it('names json and msgpack only', () => {
    expect(serializerByName('json')).toBe(jsonSerializer);
    expect(() => serializerByName('pickle')).toThrow(EncodeError);
    expect(() => serializerByName('yaml')).toThrow(/use json or msgpack/);
  });
});
