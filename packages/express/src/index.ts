/** @celeriac/express public API. Anything not exported here is internal. */
export { celeriacMiddleware } from './celeriac-middleware';
export { celeriacRouter, type SendTaskBody, type SentTaskResponse, type TaskStatusResponse, type ErrorResponse } from './celeriac-router';
export { closeOnSignals, type CloseOnSignalsHandle } from './close-on-signals';
export type { CeleriacMiddlewareOptions, CeleriacRouterOptions, CloseOnSignalsOptions, ClosableServer, SignalSource } from './options';
