/** AMQP URLs as Kombu reads them (vhost from the path, `//` is "/"), and header tables typed for py-amqp. */
import { encodeHeaders, decodeHeaders } from '../../src/brokers/amqp/amqp-headers';
import { parseAmqpUrl, redactAmqp } from '../../src/brokers/amqp/amqp-url';
import { ConfigError, EncodeError } from '../../src/errors';

describe('parseAmqpUrl', () => {
  it.each([
    ['amqp://guest:guest@localhost:5672//', '/'],
    ['amqp://localhost', '/'],
    ['amqp://localhost/', '/'],
    ['amqp://h/prod', 'prod'],
    ['amqp://h/%2Fprod', '/prod'],
    ['amqp://h/t-amqp-1a2b', 't-amqp-1a2b'],
    ['pyamqp://guest@localhost//', '/'],
  ])('%s is vhost %j', (url, vhost) => {
    expect(parseAmqpUrl(url).vhost).toBe(vhost);
  });

  it('reads host, port, credentials, TLS and query options', () => {
    const p = parseAmqpUrl('amqps://us%40er:p%3Ass@rabbit.example:5999/v?heartbeat=30&connect_timeout=2.5');
    expect(p.connect).toEqual({ protocol: 'amqps', hostname: 'rabbit.example', port: 5999, vhost: 'v', username: 'us@er', password: 'p:ss' });
    expect(p).toMatchObject({ tls: true, heartbeat: 30, connectTimeoutMs: 2500 });
    expect(parseAmqpUrl('amqps://h').connect.port).toBe(5671);
    expect(parseAmqpUrl('amqp://h:443').connect.port).toBe(443);
    expect(parseAmqpUrl('amqp://h').connect).toMatchObject({ port: 5672, username: 'guest', password: 'guest' });
    expect(parseAmqpUrl('pyamqp://bob@h//').connect).toMatchObject({ protocol: 'amqp', username: 'bob', password: 'guest', vhost: '/' });
    expect(parseAmqpUrl('amqp://[::1]:5673/').connect).toMatchObject({ hostname: '::1', port: 5673 });
  });

  it('refuses what it cannot honour, naming it, without the password', () => {
    expect(() => parseAmqpUrl('redis://h')).toThrow(ConfigError);
    expect(() => parseAmqpUrl('amqp://u:secret@h/?frame_max=1')).toThrow(/unknown option "frame_max"/);
    expect(() => parseAmqpUrl('amqp://u:secret@h/?heartbeat=-1')).toThrow(/heartbeat/);
    expect(() => parseAmqpUrl('amqp://u:secret@h/?heartbeat=-1')).not.toThrow(/secret/);
    expect(redactAmqp('amqp://u:secret@h//')).toBe('amqp://u:***@h//');
  });
});

describe('AMQP header tables', () => {
  it('types every integer as int32 (int64 beyond), floats as double, recursively', () => {
    expect(encodeHeaders({ retries: 200, timelimit: [300, null], big: 2 ** 40, r: 0.5, s: 'x', t: true, n: { k: [-5] } })).toEqual({
      retries: { '!': 'int32', value: 200 },
      timelimit: [{ '!': 'int32', value: 300 }, null],
      big: { '!': 'int64', value: 2 ** 40 },
      r: { '!': 'double', value: 0.5 },
      s: 'x',
      t: true,
      n: { k: [{ '!': 'int32', value: -5 }] },
    });
  });

  it('refuses values a field table cannot carry', () => {
    expect(() => encodeHeaders({ x: Number.NaN })).toThrow(EncodeError);
    expect(() => encodeHeaders({ x: { '!': 'int8', value: 1 } })).toThrow(/"!"/);
  });

  it('decodes typed values amqplib hands over into plain ones', () => {
    expect(
      decodeHeaders({
        b: Buffer.from('héllo'),
        when: { '!': 'timestamp', value: 1_767_323_045 },
        price: { '!': 'decimal', value: { places: 2, digits: 1234 } },
        list: [Buffer.from('a'), 1, null],
      }),
    ).toEqual({ b: 'héllo', when: '2026-01-02T03:04:05.000Z', price: 12.34, list: ['a', 1, null] });
    expect(decodeHeaders(undefined)).toEqual({});
  });
});
