/**
 * Exchange types as a broker instance knows them. Like Kombu, the type lives with the client that
 * declared it (Redis stores no exchange objects); publishing to an exchange declared fanout broadcasts.
 */
import { BrokerError } from '../errors';
import type { ExchangeType } from './broker';

export class ExchangeTypes {
  private readonly types = new Map<string, ExchangeType>();

  /** Records `name` as `type`; redeclaring with another type is an error, as on RabbitMQ. */
  declare(name: string, type: ExchangeType): void {
    if (name === '') {
      if (type !== 'direct') throw new BrokerError(`The default exchange "" is direct; it cannot be declared ${type}.`);
      return;
    }
    const known = this.types.get(name);
    if (known !== undefined && known !== type) throw new BrokerError(`Exchange "${name}" is already declared ${known}, not ${type}.`);
    this.types.set(name, type);
  }

  /** The declared type, direct when never declared. */
  typeOf(name: string): ExchangeType {
    return this.types.get(name) ?? 'direct';
  }

  isFanout(name: string): boolean {
    return this.types.get(name) === 'fanout';
  }
}
