import { randomUUID } from 'node:crypto';
import { MemoryBroker } from '../../src/brokers/memory/memory-broker';
import { runBrokerContract } from '../contract/broker.contract';

// A hub of its own per broker, so tests never see each other's queues.
runBrokerContract('memory', () => new MemoryBroker({ name: randomUUID() }));
