import { DELAY_LEVELS, MAX_DELAY_SECONDS, delayRoutingKey, levelName } from '../../src/brokers/amqp/amqp-delayed-delivery';
import { Celeriac, ConfigError } from '../../src';

describe('delayed delivery routing keys (Kombu calculate_routing_key)', () => {
  it('is the delay as 28 dotted bits, most significant first, then the queue', () => {
    expect(delayRoutingKey(5, 'celery')).toBe(`${'0.'.repeat(25)}1.0.1.celery`);
    expect(delayRoutingKey(1, 'q')).toBe(`${'0.'.repeat(27)}1.q`);
    expect(delayRoutingKey(2 ** 27, 'q')).toBe(`1.${'0.'.repeat(27)}q`);
  });

  it('rounds up to whole seconds, at least 1, at most 2^28 - 1', () => {
    expect(delayRoutingKey(0.2, 'q')).toBe(delayRoutingKey(1, 'q'));
    expect(delayRoutingKey(4.01, 'q')).toBe(delayRoutingKey(5, 'q'));
    expect(delayRoutingKey(1e12, 'q')).toBe(`${'1.'.repeat(DELAY_LEVELS)}q`);
    expect(MAX_DELAY_SECONDS).toBe(2 ** 28 - 1);
    expect(levelName(27)).toBe('celery_delayed_27');
  });
});

describe('taskQueues / taskQueueMaxPriority settings', () => {
  const make = (extra: Record<string, unknown>) => new Celeriac({ brokerUrl: 'memory://', ...extra });

  it('accepts a list or a name -> declaration map', () => {
    expect(make({ taskQueues: [{ name: 'a', maxPriority: 9, queueArguments: { 'x-queue-type': 'quorum' } }] }).conf.taskQueues).toEqual([{ name: 'a', maxPriority: 9, queueArguments: { 'x-queue-type': 'quorum' } }]);
    expect(make({ taskQueues: { b: { routingKey: 'bee' } } }).conf.taskQueues).toEqual([{ name: 'b', routingKey: 'bee' }]);
  });

  it('names the bad part', () => {
    expect(() => make({ taskQueues: [{ name: 'a', maxPriority: 300 }] })).toThrow(/taskQueues\[0\] \("a"\) maxPriority must be an integer from 0 to 255/);
    expect(() => make({ taskQueues: [{ name: 'a' }, { name: 'a' }] })).toThrow(/declared twice/);
    expect(() => make({ taskQueues: [{ name: 'a', routingkey: 'x' }] })).toThrow(/unknown key "routingkey". Did you mean "routingKey"/);
    expect(() => make({ taskQueues: [{ name: 'a', queueArguments: { 'x-queue-type': 'lazy' } }] })).toThrow(/x-queue-type must be classic, quorum or stream/);
    expect(() => make({ taskQueueMaxPriority: -1 })).toThrow(ConfigError);
    expect(() => make({ taskQueues: 'a,b' })).toThrow(/must be a list of queues/);
  });
});
