/** Providers shared by the Nest unit tests. */
import { Injectable, Module } from '@nestjs/common';
import { Task } from '@celeriac/nestjs';

@Injectable()
export class PriceService {
  readonly rate = 10;
  price(units: number): number {
    return units * this.rate;
  }
}

@Injectable()
export class BillingTasks {
  constructor(private readonly prices: PriceService) {}

  /** Uses an injected service: proves `this` is the provider instance. */
  @Task('billing.charge')
  async charge(customer: string, units: number): Promise<string> {
    return `${customer}:${this.prices.price(units)}`;
  }
}

@Module({ providers: [PriceService, BillingTasks], exports: [PriceService] })
export class BillingModule {}

@Injectable()
export class MathTasks {
  @Task('math.add')
  add(x: number, y: number): number {
    return x + y;
  }

  /** No explicit name: `MathTasks.multiply`. */
  @Task({ maxRetries: 0 })
  async multiply(x: number, y: number): Promise<number> {
    return x * y;
  }

  notATask(): string {
    return 'plain';
  }
}

@Module({ providers: [MathTasks] })
export class MathModule {}
