import { Inject, type Type } from '@nestjs/common';
import { getTaskProxyToken } from '../celeriac.constants';

/**
 * Injects the `TaskProxy` of a provider class: one registered Task per `@Task` method, typed from
 * the method. The class must be listed in `CeleriacModule.forFeature([...])` of the importing module.
 * @example
 * constructor(@InjectTasks(MailService) private readonly mail: TaskProxy<MailService>) {}
 * await this.mail.send.delay(to, body); // Promise<AsyncResult<...>>, typed by MailService.send
 */
export const InjectTasks = (target: Type<unknown>): PropertyDecorator & ParameterDecorator => Inject(getTaskProxyToken(target));
