/** Files `loadNestContext` boots in nest-context.test.ts: a module, a bootstrap function, and wrong ones. */
import { randomUUID } from 'node:crypto';
import { CeleriacModule } from '@celeriac/nestjs';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BillingModule } from '../fixtures';

const hub = `nest-context-${randomUUID()}`;

/** Asks for the worker role, which the loader must override. */
@Module({
  imports: [
    CeleriacModule.forRoot({ envPrefix: false, brokerUrl: `memory://${hub}`, resultBackend: `memory://${hub}`, workerLogLevel: 'silent', roles: ['worker'], worker: { queues: ['billing'], concurrency: 3 } }),
    BillingModule,
  ],
})
export class AppModule {}

@Module({ imports: [BillingModule] })
export class NoCeleriacModule {}

export async function bootstrap(): Promise<unknown> {
  return NestFactory.createApplicationContext(AppModule, { logger: false });
}

export function notABootstrap(): number {
  return 42;
}

export const settings = { answer: 42 };
