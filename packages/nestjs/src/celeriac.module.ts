import { type Celeriac } from '@celeriac/core';
import { Module, type DynamicModule, type Provider, type Type } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { createCeleriacApp } from './celeriac-app.factory';
import { CELERIAC_APP, getTaskProxyToken } from './celeriac.constants';
import { CeleriacExplorer } from './celeriac.explorer';
import { CeleriacHealthIndicator } from './celeriac.health-indicator';
import { CeleriacLifecycle } from './celeriac.lifecycle';
import { CELERIAC_MODULE_OPTIONS, ConfigurableModuleClass, type CeleriacModuleOptions } from './celeriac.module-definition';
import { TaskMetadataAccessor } from './task-metadata.accessor';
import { createTaskProxy } from './task-proxy.factory';

const appProvider: Provider = {
  provide: CELERIAC_APP,
  useFactory: (options: CeleriacModuleOptions): Celeriac => createCeleriacApp(options),
  inject: [CELERIAC_MODULE_OPTIONS],
};

/** Holds the TaskProxy providers made by `CeleriacModule.forFeature()`. */
@Module({})
export class CeleriacFeatureModule {}

/**
 * The Celeriac module: `forRoot(options)` or `forRootAsync({ imports, inject, useFactory | useClass |
 * useExisting })`, global unless `isGlobal: false`. Discovers `@Task` methods in every module.
 * @example
 * CeleriacModule.forRootAsync({ imports: [ConfigModule.forFeature(celeriacConfig)], ...celeriacConfig.asProvider() })
 */
@Module({
  imports: [DiscoveryModule],
  providers: [appProvider, TaskMetadataAccessor, CeleriacExplorer, CeleriacLifecycle, CeleriacHealthIndicator],
  exports: [CELERIAC_APP, CeleriacExplorer, CeleriacLifecycle, CeleriacHealthIndicator],
})
export class CeleriacModule extends ConfigurableModuleClass {
  /**
   * Provides `@InjectTasks(Class)` for each class: a TaskProxy whose properties are the class's
   * registered tasks. Import it in the module that injects the proxies (the classes themselves may
   * live in any module).
   */
  static forFeature(classes: Array<Type<unknown>>): DynamicModule {
    const providers: Provider[] = classes.map((type) => ({
      provide: getTaskProxyToken(type),
      useFactory: (app: Celeriac) => createTaskProxy(app, type),
      inject: [CELERIAC_APP],
    }));
    return { module: CeleriacFeatureModule, providers, exports: classes.map((type) => getTaskProxyToken(type)) };
  }
}
