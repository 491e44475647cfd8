import { Inject } from '@nestjs/common';
import { CELERIAC_APP } from '../celeriac.constants';

/** Injects the Celeriac app (`sendTask`, `asyncResult`, `taskRef`...). */
export const InjectCeleriac = (): PropertyDecorator & ParameterDecorator => Inject(CELERIAC_APP);
