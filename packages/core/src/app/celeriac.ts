/**
 * The app: settings, task registry, calling API, broker and result backend. One per process is usual;
 * several can coexist (each has its own broker connection).
 */
import { randomUUID } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { resolveBackend } from '../backends/resolve-backend';
import type { ResultBackend } from '../backends/result-backend';
import type { Broker, DeliveryInfo, Route } from '../brokers/broker';
import { resolveBroker } from '../brokers/resolve-broker';
import { ConfigError, EncodeError } from '../errors';
import { createLogger, type Logger } from '../logging/logger';
import { toExceptionDict } from '../protocol/exception-codec';
import { createTaskMessage, encodeTaskMessage, type TaskMessage } from '../protocol/message-v2';
import { dateDoneNow } from '../protocol/result-meta';
import { argsRepr, kwargsRepr } from '../protocol/repr';
import { AsyncResult } from '../result/async-result';
import { EagerResult } from '../result/eager-result';
import { FAILURE, PENDING } from '../result/states';
import { TaskRegistry } from '../task/registry';
import { prepareAnnotations } from '../task/annotations';
import { attachSharedTaskHost, detachSharedTaskHost, setCurrentHost, type SharedTaskHost } from '../task/shared-task';
import { createTask, type AnyTask, type Task, type TaskFunction } from '../task/task';
import { currentTask, TaskContext } from '../task/task-context';
import type { ApplyOptions, TaskOptions } from '../task/task-options';
import { Executor, type ExecutorHost } from '../worker/executor';
import { buildRequest } from '../worker/request';
import { registerBuiltinTasks } from '../canvas/builtin-tasks';
import type { TaskSend } from '../canvas/canvas-host';
import { Signature } from '../canvas/signature';
import { toWireOptions } from '../canvas/signature-options';
import { Workflow } from '../canvas/workflow';
import { Control } from '../control/control';
import { EventDispatcher } from '../events/event-dispatcher';
import { taskSentFields } from '../events/task-sent';
import { publishPayload } from '../signals/publish-payload';
import { Signals } from '../signals/signals';
import { parseRateLimit } from '../worker/rate-limit';
import type { SignatureDict, TaskEmbed } from '../protocol/message-v2';
import { autodiscover, type AutodiscoverOptions } from './autodiscover';
import { publishWithRetry } from './publish-retry';
import { resolveRoute } from './router';
import type { CeleriacSettings } from './settings';
import { validateSettings } from './validate-settings';

/** Options of `new Celeriac(...)`: any setting from the settings table. */
export type CeleriacOptions = Partial<CeleriacSettings> & { logger?: Logger };

/**
 * A Celeriac app.
 * @example
 * const app = new Celeriac({ brokerUrl: 'redis://localhost:6379/0', resultBackend: 'redis://localhost:6379/0' });
 * export const add = app.task('math.add', async (x: number, y: number) => x + y);
 * const sum = await (await add.delay(2, 3)).get({ timeout: 10_000 }); // 5
 */
export class Celeriac implements SharedTaskHost, ExecutorHost {
  readonly conf: CeleriacSettings;
  readonly tasks = new TaskRegistry();
  readonly logger: Logger;
  /** Reply address put in every message's reply_to (Celery's oid). */
  readonly oid = randomUUID();
  private brokerInstance: Broker | undefined;
  private backendInstance: ResultBackend | null | undefined;
  private connecting: Promise<void> | undefined;
  private readonly declared = new Set<string>();
  private readonly origin = `gen${process.pid}@${osHostname()}`;
  private eagerExecutor: Executor | undefined;
  private workflowInstance: Workflow | undefined;
  private controlInstance: Control | undefined;
  private sentEvents: EventDispatcher | undefined;
  /** Celery's signals as typed hooks: `app.signals.on('taskPrerun', ...)` (see signals/signals.ts). */
  readonly signals: Signals;

  constructor(options: CeleriacOptions = {}) {
    const { logger, ...settings } = options;
    this.conf = validateSettings(settings);
    this.tasks.setAnnotations(prepareAnnotations(this.conf.taskAnnotations));
    this.logger = logger ?? createLogger(this.conf.workerLogLevel, this.conf.main ?? 'celeriac');
    this.signals = new Signals(this.logger);
    registerBuiltinTasks((name, fn, opts) => this.task(name, fn, opts), this, () => this.workflow());
    attachSharedTaskHost(this);
  }

  /** Remote control of the workers (Celery's app.control): revoke, ping, inspect, shutdown. */
  get control(): Control {
    return (this.controlInstance ??= new Control(this));
  }

  /** @internal ResultSource: AsyncResult.revoke() */
  async revokeTasks(ids: readonly string[], options: { terminate?: boolean; signal?: string }): Promise<void> {
    await this.control.revoke(ids, options);
  }

  /** @internal What workers do for the canvas after a task (callbacks, chains, chord joins, errbacks). */
  workflow(): Workflow {
    return (this.workflowInstance ??= new Workflow(this));
  }

  /** @internal CanvasHost */
  localTask(name: string): AnyTask | undefined {
    return this.tasks.get(name);
  }

  /**
   * A signature of a task known only by name (it may run in Python).
   * @example
   * const mul = app.signature<[number, number], number>('proj.tasks.mul', [2, 3]);
   */
  signature<TArgs extends unknown[] = unknown[], TResult = unknown>(name: string, args: TArgs | [] = [], options: ApplyOptions = {}): Signature<TArgs, TResult, unknown[]> {
    const { kwargs, ...rest } = options;
    return new Signature({ task: name, args, kwargs: kwargs ?? {}, options: toWireOptions(rest) }, () => this);
  }

  /** @internal CanvasHost: sends the messages of plain signatures (one pipelined publish). */
  async sendTasks(sends: readonly TaskSend[]): Promise<Array<AsyncResult<unknown>>> {
    if (!sends.length) return [];
    if (this.conf.taskAlwaysEager) {
      const out: Array<AsyncResult<unknown>> = [];
      for (const s of sends) {
        const task = this.tasks.get(s.name);
        const options = { ...s.options, kwargs: s.kwargs };
        out.push(task ? await this.applyEager(task, s.args, { ...task.options.defaults, ...options }, s.embed) : await this.publish(s.name, s.args, options, undefined, s.embed));
      }
      return out;
    }
    const prepared = sends.map((s) => {
      const task = this.tasks.get(s.name);
      return this.prepare(s.name, s.args, { ...task?.options.defaults, ...s.options, kwargs: s.kwargs }, task, s.embed);
    });
    return this.sendPrepared(sends[0]!.name, sends[0]!.options, prepared);
  }

  /** Makes this the app that shared tasks publish through. */
  setAsCurrent(): this {
    setCurrentHost(this);
    return this;
  }

  /** The broker (created from brokerUrl on first use, connected by `connect()`). */
  get broker(): Broker {
    return (this.brokerInstance ??= resolveBroker(this.conf));
  }

  /** The result backend, or null when resultBackend is unset. */
  backendOrNull(): ResultBackend | null {
    if (this.backendInstance === undefined) this.backendInstance = resolveBackend(this.conf, { oid: this.oid });
    return this.backendInstance;
  }

  /** The result backend; throws a ConfigError when results are disabled. */
  resultBackend(): ResultBackend {
    const backend = this.backendOrNull();
    if (!backend) {
      throw new ConfigError('resultBackend', 'No result backend configured: set resultBackend (e.g. redis://localhost:6379/0 or memory://) to read results.');
    }
    return backend;
  }

  /** Connects the broker and the result backend (idempotent; done on first publish anyway). */
  connect(): Promise<void> {
    this.connecting ??= (async () => {
      await this.broker.connect();
      await this.backendOrNull()?.connect();
    })().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  /**
   * Defines and registers a task. The function's parameters type `.delay()`; its return type types
   * `AsyncResult.get()`. Use a `function` (not an arrow) to get the TaskContext as `this`.
   */
  task<TArgs extends unknown[], TResult>(name: string, fn: TaskFunction<TArgs, TResult>, options: TaskOptions<Awaited<TResult>> = {}): Task<TArgs, Awaited<TResult>> {
    if (!name || typeof name !== 'string') throw new ConfigError('task', 'A task needs a non-empty name, e.g. "billing.charge_card".');
    parseRateLimit(options.rateLimit, `Task "${name}" rateLimit`);
    parseRateLimit(options.globalRateLimit, `Task "${name}" globalRateLimit`);
    const task = createTask(name, fn, options as TaskOptions<TResult>, () => this, (t, args) => this.directContext(t, args));
    this.tasks.register(task);
    return task;
  }

  /** @internal SharedTaskHost */
  registerTask(task: AnyTask): void {
    this.tasks.register(task);
  }

  /**
   * A handle to call a task by name without loading its code: type it with the task's type
   * (`app.taskRef<typeof add>('math.add')`) or spell it out for Python tasks
   * (`app.taskRef<Task<[number, number], number>>('proj.tasks.mul')`).
   */
  taskRef<T extends AnyTask>(name: string, options: TaskOptions = {}): T {
    const missing = async (): Promise<never> => {
      throw new ConfigError('task', `Task "${name}" is a reference: its code runs on a worker, it cannot be called here.`);
    };
    return createTask(name, missing, options, () => this, (t, args) => this.directContext(t, args)) as unknown as T;
  }

  /** Sends a task by name (it may be defined elsewhere, even in Python). */
  sendTask<TResult = unknown>(name: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}, options: ApplyOptions = {}): Promise<AsyncResult<TResult>> {
    return this.publish(name, args, { ...options, kwargs: { ...options.kwargs, ...kwargs } }, this.tasks.get(name)) as Promise<AsyncResult<TResult>>;
  }

  /** A handle to an existing task id. */
  asyncResult<T = unknown>(id: string): AsyncResult<T> {
    return new AsyncResult<T>(id, this);
  }

  /** Imports task modules by path or glob (Celery's autodiscover_tasks / imports). */
  autodiscover(patterns: string | readonly string[], options: AutodiscoverOptions = {}): Promise<string[]> {
    return autodiscover(typeof patterns === 'string' ? [patterns] : patterns, options);
  }

  /** @internal TaskCaller */
  applyTask(task: AnyTask, args: unknown[], options: ApplyOptions): Promise<AsyncResult<unknown>> {
    if (this.conf.taskAlwaysEager) return this.applyEager(task, args, options);
    return this.publish(task.taskName, args, { ...task.options.defaults, ...options }, task);
  }

  /** @internal TaskCaller: runs in-process and returns the finished result. */
  async applyEager(task: AnyTask, args: unknown[], options: ApplyOptions, embed: Partial<TaskEmbed> = {}): Promise<EagerResult<unknown>> {
    let message = this.buildMessage(task.taskName, args, options, task, {}, embed).message;
    const executor = (this.eagerExecutor ??= new Executor(
      {
        conf: this.conf,
        logger: this.logger,
        backendOrNull: () => null,
        // Eager retries run again at once, ignoring the countdown (as Celery's eager mode does).
        sendRetry: async (next) => {
          message = next;
        },
        workflow: () => this.workflow(),
        signals: this.signals,
      },
      'eager@' + osHostname(),
    ));
    for (;;) {
      const before = message;
      const outcome = await executor.run(task, before, null, true);
      if (outcome.state === 'RETRY' && message !== before) continue;
      if (outcome.state === 'SUCCESS') {
        return new EagerResult(before.id, { taskId: before.id, status: 'SUCCESS', result: outcome.retval ?? null, traceback: null, children: [], dateDone: dateDoneNow() });
      }
      const error = 'error' in outcome ? outcome.error : undefined;
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrow exactly what the task threw
      if (this.conf.taskEagerPropagates && error !== undefined) throw error;
      return new EagerResult(before.id, {
        taskId: before.id,
        status: outcome.state === 'FAILURE' ? FAILURE : outcome.state,
        result: error === undefined ? null : toExceptionDict(error),
        traceback: error instanceof Error ? (error.stack ?? null) : null,
        children: [],
        dateDone: dateDoneNow(),
      });
    }
  }

  /** @internal SharedTaskHost: the context of a task called directly as a function. */
  directContext(task: AnyTask, args: unknown[]): TaskContext {
    const message = createTaskMessage({ id: randomUUID(), task: task.taskName, args });
    return new TaskContext(buildRequest(message, 'direct@' + osHostname(), null, true), { maxRetries: 0, defaultRetryDelay: 0 }, async () => undefined);
  }

  private buildMessage(name: string, args: unknown[], options: ApplyOptions, task: AnyTask | undefined, route: { priority?: number }, embed: Partial<TaskEmbed> = {}) {
    if (!Array.isArray(args)) throw new EncodeError(`Task ${name}: args must be an array, got ${typeof args}.`);
    const id = options.taskId ?? randomUUID();
    const kwargs = options.kwargs ?? {};
    const parent = currentTask();
    const countdown = options.countdown;
    if (countdown !== undefined && (!Number.isFinite(countdown) || countdown < 0)) throw new ConfigError('countdown', `countdown must be a number of seconds >= 0, got ${countdown}.`);
    const eta = options.eta ?? (countdown ? new Date(Date.now() + countdown * 1000) : null);
    if (eta && Number.isNaN(eta.getTime())) throw new ConfigError('eta', 'eta is an invalid Date.');
    const expires = options.expires === undefined ? null : options.expires instanceof Date ? options.expires : new Date(Date.now() + options.expires * 1000);
    // Celery's order: the call, then the task, then the route, then task_default_priority.
    const priority = options.priority ?? task?.options.priority ?? route.priority ?? this.conf.taskDefaultPriority ?? 0;
    if (!Number.isInteger(priority) || priority < 0 || priority > 255) throw new ConfigError('priority', `priority must be an integer 0-9, got ${priority}.`);
    const message: TaskMessage = createTaskMessage({
      id,
      task: name,
      args,
      kwargs,
      shadow: options.shadow ?? null,
      eta,
      expires,
      group: options.groupId ?? null,
      groupIndex: options.groupIndex ?? null,
      timeLimit: [options.timeLimit ?? task?.options.timeLimit ?? null, options.softTimeLimit ?? task?.options.softTimeLimit ?? null],
      rootId: options.rootId ?? parent?.request.rootId ?? id,
      parentId: options.parentId ?? parent?.request.id ?? null,
      argsrepr: options.argsrepr ?? argsRepr(args),
      kwargsrepr: options.kwargsrepr ?? kwargsRepr(kwargs),
      origin: this.origin,
      ignoreResult: options.ignoreResult ?? task?.options.ignoreResult ?? this.conf.taskIgnoreResult,
      customHeaders: options.headers ?? {},
      replyTo: this.oid,
      priority,
      embed: {
        callbacks: embed.callbacks ?? signatureDicts(options.link),
        errbacks: embed.errbacks ?? signatureDicts(options.linkError),
        chain: embed.chain ?? null,
        chord: embed.chord ?? null,
      },
    });
    return { message, route };
  }

  private prepare(name: string, args: unknown[], options: ApplyOptions, task: AnyTask | undefined, embed: Partial<TaskEmbed> = {}) {
    const kwargs = options.kwargs ?? {};
    const route = resolveRoute(this.conf, { name, args, kwargs, queue: options.queue, exchange: options.exchange, routingKey: options.routingKey, taskQueue: task?.options.queue });
    const { message } = this.buildMessage(name, args, options, task, route, embed);
    const wire = encodeTaskMessage(message, {
      serializer: options.serializer ?? task?.options.serializer ?? this.conf.taskSerializer,
      compression: options.compression ?? this.conf.taskCompression,
    });
    const target: Route = route.publish;
    return { message, wire, route, target };
  }

  private async sendPrepared(name: string, options: ApplyOptions, prepared: Array<ReturnType<Celeriac['prepare']>>): Promise<Array<AsyncResult<unknown>>> {
    const retry = options.retry ?? this.conf.taskPublishRetry;
    const policy = { ...this.conf.taskPublishRetryPolicy, ...options.retryPolicy };
    if (this.signals.has('beforeTaskPublish')) for (const p of prepared) this.signals.emit('beforeTaskPublish', publishPayload(p.message, p.wire, p.target));
    await publishWithRetry(
      async () => {
        await this.connect();
        let previous: (typeof prepared)[number]['route'] | undefined;
        for (const { route } of prepared) {
          // applyMany: usually one route for all, declared (or found declared) once
          if (previous && route.queue === previous.queue && route.exchange === previous.exchange && route.routingKey === previous.routingKey && route.broadcast === previous.broadcast) continue;
          previous = route;
          if (route.queue) await this.declareQueue(route.queue, route.exchange, route.routingKey);
          else if (route.broadcast) await this.broker.declareExchange(route.exchange, 'fanout');
        }
        if (prepared.length === 1) {
          const sent = this.broker.publish(prepared[0]!.wire, prepared[0]!.target);
          // Listen for the result while the task travels (Celery's on_task_call), so a later get() is
          // woken at once. Right after the publish is written, not before: it is not on the task's way.
          // A result stored before the SUBSCRIBE took effect is found by get()'s GET after subscribing.
          if (!prepared[0]!.message.ignoreResult) this.backendOrNull()?.prepareWait?.(prepared[0]!.message.id);
          await sent;
        } else await this.broker.publishMany(prepared.map((p) => ({ message: p.wire, route: p.target })));
      },
      (err) => this.broker.isRecoverable(err) || isConnectError(err),
      retry ? policy : { ...policy, maxRetries: 0 },
      (err, attempt, delayMs) => this.logger.warn({ err, task: name }, `Publish failed (attempt ${attempt}); retrying in ${delayMs} ms`),
    );
    if (this.signals.has('afterTaskPublish')) for (const p of prepared) this.signals.emit('afterTaskPublish', publishPayload(p.message, p.wire, p.target));
    if (this.conf.taskSendSentEvent) for (const p of prepared) this.sendSentEvent(p.message, p.route.queue ?? null, p.target);
    if (this.conf.taskTrackSent) {
      const backend = this.backendOrNull();
      if (backend) {
        await Promise.all(
          prepared.map((p) => backend.storeResult({ taskId: p.message.id, status: PENDING, result: null, traceback: null, children: null, dateDone: null }, { keepSuccess: true })),
        );
      }
    }
    const results = prepared.map((p) => new AsyncResult(p.message.id, this));
    // Sent from a task's code: listed in that task's stored `children`.
    currentTask()?.addChildren(results);
    return results;
  }

  private async publish(name: string, args: unknown[], options: ApplyOptions, task: AnyTask | undefined, embed: Partial<TaskEmbed> = {}): Promise<AsyncResult<unknown>> {
    const [result] = await this.sendPrepared(name, options, [this.prepare(name, args, options, task, embed)]);
    return result!;
  }

  /** @internal TaskCaller: many calls of one task in one pipelined publish. */
  async applyTaskMany(task: AnyTask, argsList: unknown[][], options: ApplyOptions): Promise<Array<AsyncResult<unknown>>> {
    if (this.conf.taskAlwaysEager) return Promise.all(argsList.map((args) => this.applyEager(task, args, options)));
    if (options.taskId) throw new ConfigError('taskId', 'applyMany sends many tasks: it cannot take one taskId.');
    if (!argsList.length) return [];
    const merged = { ...task.options.defaults, ...options };
    return this.sendPrepared(task.taskName, merged, argsList.map((args) => this.prepare(task.taskName, args, merged, task)));
  }

  /**
   * Declares a queue and its binding once per app: as `taskQueues` describes it (exchange, routing
   * key, x-max-priority, queue arguments such as x-queue-type), else with the defaults
   * (taskCreateMissingQueues).
   */
  async declareQueue(queue: string, exchange: string, routingKey: string): Promise<void> {
    const binding = `${queue}\u0000${exchange}\u0000${routingKey}`;
    if (this.declared.has(binding)) return;
    const spec = this.conf.taskQueues?.find((q) => q.name === queue);
    if (!spec && !this.conf.taskCreateMissingQueues && queue !== this.conf.taskDefaultQueue) {
      throw new ConfigError('taskCreateMissingQueues', `Queue "${queue}" is not in taskQueues and taskCreateMissingQueues is false.`);
    }
    const maxPriority = spec?.maxPriority ?? this.conf.taskQueueMaxPriority;
    await this.broker.declareQueue({
      name: queue,
      exchange: spec?.exchange ?? exchange,
      routingKey: spec?.routingKey ?? routingKey,
      ...(spec?.exchangeType ? { exchangeType: spec.exchangeType } : {}),
      ...(maxPriority !== undefined ? { maxPriority } : {}),
      ...(spec?.queueArguments ? { arguments: { ...spec.queueArguments } } : {}),
    });
    this.declared.add(binding);
  }

  /** @internal ExecutorHost: re-publishes a retried task to the queue it came from. */
  async sendRetry(message: TaskMessage, deliveryInfo: DeliveryInfo | null): Promise<void> {
    const wire = encodeTaskMessage({ ...message, origin: this.origin }, { serializer: this.conf.taskSerializer });
    const queue = deliveryInfo?.queue ?? this.conf.taskDefaultQueue;
    const route = { exchange: '', routingKey: queue };
    if (this.signals.has('beforeTaskPublish')) this.signals.emit('beforeTaskPublish', publishPayload(message, wire, route));
    await this.connect();
    await this.broker.publish(wire, route);
    if (this.signals.has('afterTaskPublish')) this.signals.emit('afterTaskPublish', publishPayload(message, wire, route));
    if (this.conf.taskSendSentEvent) this.sendSentEvent(message, queue, route);
  }

  /** Celery's task-sent event (taskSendSentEvent), best effort. */
  private sendSentEvent(m: TaskMessage, queue: string | null, route: Route): void {
    this.sentEvents ??= new EventDispatcher({ broker: this.broker, brokerUrl: this.conf.brokerUrl, hostname: this.origin, logger: this.logger, bufferGroups: [] });
    this.sentEvents.send('task-sent', taskSentFields(m, queue, route));
  }

  /** Closes the broker and backend connections. */
  async close(): Promise<void> {
    detachSharedTaskHost(this);
    await this.sentEvents?.close();
    this.sentEvents = undefined;
    await this.brokerInstance?.close();
    await this.backendInstance?.close();
    this.brokerInstance = undefined;
    this.backendInstance = undefined;
    this.connecting = undefined;
    this.declared.clear();
  }
}

/** link / linkError option -> the embed's list of signature dicts (null when none). */
function signatureDicts(value: ApplyOptions['link']): SignatureDict[] | null {
  if (!value) return null;
  const list = (Array.isArray(value) ? value : [value]) as Array<{ toDict(): SignatureDict }>;
  return list.length ? list.map((s) => s.toDict()) : null;
}

function isConnectError(err: unknown): boolean {
  return !!err && typeof err === 'object' && (err as { code?: string }).code === 'CELERIAC_BROKER_CONNECTION';
}
