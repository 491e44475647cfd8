/**
 * BeatAdminModule: the beat admin (page and REST API) mounted as middleware on a path of a Nest app
 * (Express platform). Thin: the handlers are @celeriac/beat-db's framework-free ones.
 */
import { Inject, Module, RequestMethod, type MiddlewareConsumer, type NestModule, type Provider } from '@nestjs/common';
import { createAdminHandlers, type AdminHandlers, type BeatAdminOptions } from '../admin';
import { BeatAdminMiddleware } from './beat-admin.middleware';
import { BEAT_ADMIN_HANDLERS, BEAT_ADMIN_MOUNT, BEAT_ADMIN_OPTIONS, ConfigurableModuleClass, type BeatAdminMount } from './beat-admin.module-definition';

const handlersProvider: Provider = {
  provide: BEAT_ADMIN_HANDLERS,
  useFactory: (options: BeatAdminOptions): AdminHandlers => createAdminHandlers(options),
  inject: [BEAT_ADMIN_OPTIONS],
};

/**
 * The beat admin at `path` (default '/admin/periodic-tasks'). The DataSource and the Celeriac app can
 * come from DI with `forRootAsync`.
 * @example
 * BeatAdminModule.forRootAsync({
 *   path: '/admin/periodic-tasks',
 *   inject: [DataSource, CELERIAC_APP], // @nestjs/typeorm's DataSource, @celeriac/nestjs's app token
 *   useFactory: (dataSource: DataSource, app: Celeriac) => ({ dataSource, app, auth: { basic: { username: 'ops', password: process.env.BEAT_ADMIN_PASSWORD! } } }),
 * })
 */
@Module({ providers: [handlersProvider, BeatAdminMiddleware], exports: [BEAT_ADMIN_HANDLERS] })
export class BeatAdminModule extends ConfigurableModuleClass implements NestModule {
  constructor(@Inject(BEAT_ADMIN_MOUNT) private readonly mount: BeatAdminMount) {
    super();
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(BeatAdminMiddleware).forRoutes({ path: this.mount.path, method: RequestMethod.ALL }, { path: `${this.mount.path}/*path`, method: RequestMethod.ALL });
  }
}
