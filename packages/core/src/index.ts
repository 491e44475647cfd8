/** @celeriac/core public API. Anything not exported here is internal. */
export { Celeriac, type CeleriacOptions } from './app/celeriac';
export { loadConfig, envVarName, type LoadConfigOptions } from './app/env';
export { SETTINGS, type CeleriacSettings, type RetryPolicy, type RouteSpec, type RouterFunction, type TaskRoutes, type BrokerTransportOptions, type SettingSpec } from './app/settings';
export { validateSettings } from './app/validate-settings';
export { resolveRoute, type ResolvedRoute } from './app/router';
export type { AutodiscoverOptions } from './app/autodiscover';

export * from './errors';

export type { Task, TaskMethods, TaskFunction, AnyTask, TaskArgs, TaskResult } from './task/task';
export { isTask } from './task/task';
export { sharedTask } from './task/shared-task';
export { TaskContext, currentTask, type TaskRequest, type RetryOptions } from './task/task-context';
export type { TaskOptions, ApplyOptions, TaskHandlers, ErrorMatcher } from './task/task-options';
export { ANNOTATABLE_OPTIONS, type TaskAnnotations, type TaskAnnotation, type AnnotationOptions, type AnnotationFunction } from './task/annotations';
export { TaskRegistry } from './task/registry';
export { inferParamNames } from './task/params';

export { AsyncResult, type GetOptions } from './result/async-result';
export { EagerResult } from './result/eager-result';
export * as states from './result/states';
export type { TaskState } from './result/states';

export { FANOUT_BUFFER_LIMIT } from './brokers/broker';
export type { ExchangeType } from './brokers/broker';
export type { Broker, BrokerCapabilities, Delivery, DeliveryInfo, DeliveryHandler, ConsumeOptions, Subscription, ConsumerStatus, Route, QueueDeclaration } from './brokers/broker';
export { MemoryBroker, type MemoryBrokerOptions } from './brokers/memory/memory-broker';
export { RedisBroker, type RedisBrokerOptions } from './brokers/redis/redis-broker';
export { resolveBroker } from './brokers/resolve-broker';

export type { ResultBackend, WaitOptions, StoreOptions } from './backends/result-backend';
export type { KeyValueStore } from './backends/key-value-store';
export { KeyValueResultBackend, TASK_KEY_PREFIX, GROUP_KEY_PREFIX } from './backends/key-value-backend';
export { MemoryKeyValueStore } from './backends/memory/memory-key-value-store';
export { RedisResultBackend } from './backends/redis/redis-result-backend';
export { resolveBackend } from './backends/resolve-backend';

export type { WireMessage, WireProperties } from './protocol/wire-message';
export { encodeTaskMessage, decodeTaskMessage, createTaskMessage, type TaskMessage, type TaskEmbed, type SignatureDict } from './protocol/message-v2';
export { encodeResultMeta, decodeResultMeta, type ResultMeta } from './protocol/result-meta';
export { toExceptionDict, fromExceptionDict, type ExceptionDict } from './protocol/exception-codec';
export { formatWireDate, parseWireDate } from './protocol/dates';
export { parseJson, stringifyJson } from './protocol/serializers';

export { Worker, type WorkerOptions, type WorkerEventMap } from './worker/worker';
export { POOL_KINDS, type AppSource, type AutoscaleOptions, type Pool, type PoolJob, type PoolKind } from './worker/pools/pool';
export type { SourcedApp } from './worker/pools/app-source';
export type { WorkerHealth, WorkerLifecycle } from './worker/worker-health';
export { startHealthServer, type HealthServer, type HealthServerOptions } from './worker/health-server';
export type { EtaScheduler } from './worker/eta-scheduler';
export { createLogger, type Logger } from './logging/logger';

export { Signature, type AnySignature, type SignatureOptions, type SignatureInit } from './canvas/signature';
export { Chain, chain } from './canvas/chain';
export { Group, group, type ResultsOf } from './canvas/group';
export { Chord, chord } from './canvas/chord';
export { MapSignature, ChunksSignature } from './canvas/chunks';
export { signatureFromDict } from './canvas/from-dict';
export type { ResultOf, MissingOf, CheckChain, ChainStepMismatch } from './canvas/signature-types';
export { GroupResult } from './result/group-result';
export { toResultTuple, fromResultTuple, type ResultTuple } from './result/result-tuple';

export { Control, Inspect, type BroadcastOptions, type ControlReply } from './control/control';
export { Signals } from './signals/signals';
export type {
  SignalMap,
  SignalName,
  SignalListener,
  BeforeTaskPublishPayload,
  AfterTaskPublishPayload,
  TaskPrerunPayload,
  TaskPostrunPayload,
  TaskSuccessPayload,
  TaskFailurePayload,
  TaskRetryPayload,
  TaskRevokedPayload,
  TaskUnknownPayload,
  TaskRejectedPayload,
  WorkerPayload,
  HeartbeatSentPayload,
} from './signals/signal-types';
export { EventReceiver, eventFromWire, type EventReceiverOptions, type EventHandler } from './events/event-receiver';
export { EventDispatcher, type EventDispatcherOptions } from './events/event-dispatcher';
export { EVENT_EXCHANGE } from './events/event-types';
export type { EventBase, EventType, EventTypeMap, WorkerEvent, TaskEventBase, TaskSentEvent, TaskReceivedEvent, TaskSucceededEvent, TaskFailedEvent, TaskRevokedEvent, TaskRejectedEvent } from './events/event-types';
export { RevokedTasks, type RevokedTasksOptions } from './worker/revoked-tasks';
export { RpcResultBackend, type RpcResultBackendOptions } from './backends/rpc/rpc-result-backend';

export { Beat, type BeatOptions, type BeatEventMap } from './beat/beat';
export { Scheduler, type SchedulerOptions, type SchedulerEvents, type SkipReason } from './beat/scheduler';
export { toBeatEntry, toBeatEntries, type BeatEntry, type BeatEntryConfig, type BeatEntryOptions } from './beat/beat-entry';
export { MemoryScheduleStore, type ScheduleStore, type EntryState } from './beat/schedule-store';
export { FileScheduleStore } from './beat/file-schedule-store';
export { RedisScheduleStore } from './beat/redis-schedule-store';
export { LocalCoordinator, type BeatCoordinator } from './beat/coordinator';
export { RedisCoordinator, type RedisCoordinatorOptions } from './beat/redis-coordinator';
export { LeaseCoordinator, type LeaseCoordinatorOptions } from './beat/lease-coordinator';
export type { Schedule, ScheduleDue } from './beat/schedules/schedule';
export { IntervalSchedule, parseDuration } from './beat/schedules/interval-schedule';
export { CrontabSchedule } from './beat/schedules/crontab-schedule';
export type { CrontabFields, CrontabField } from './beat/schedules/crontab-fields';
export { SolarSchedule, SOLAR_EVENTS, type SolarEvent } from './beat/schedules/solar-schedule';
export { ClockedSchedule } from './beat/schedules/clocked-schedule';
export { toSchedule, isSchedule, type ScheduleSpec, type IntervalSpec, type CrontabSpec, type CrontabFieldsSpec, type SolarSpec, type ClockedSpec } from './beat/schedules/to-schedule';
export { AmqpBroker, type AmqpBrokerOptions } from './brokers/amqp/amqp-broker';
/** For integrations' own commands (e.g. `celeriac-beat-db beat -A`): load an app module as `-A` does. */
export { loadApp, parseAppSpec, type LoadedApp, type LoadAppOptions } from './cli/load-app';
