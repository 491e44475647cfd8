/**
 * Task registry: name -> task. Duplicate names are an error unless it is the same task. With
 * annotations (taskAnnotations), `get` returns a view of the task whose `options` carry them: the task
 * object itself is left alone, since a shared task is registered in every app.
 */
import { ConfigError } from '../errors';
import { resolveAnnotations, type TaskAnnotation } from './annotations';
import type { AnyTask } from './task';

export class TaskRegistry {
  private readonly tasks = new Map<string, AnyTask>();
  private annotations: readonly TaskAnnotation[] = [];
  /** Annotated views by name, made at registration (so a bad annotation fails there). */
  private readonly views = new Map<string, AnyTask>();

  register(task: AnyTask): void {
    const existing = this.tasks.get(task.taskName);
    if (existing && existing !== task && existing.fn !== task.fn) {
      throw new ConfigError('task', `Task "${task.taskName}" is already registered with another function. Task names must be unique per app.`);
    }
    this.tasks.set(task.taskName, task);
    this.annotate(task);
  }

  /** Sets the annotations (prepared by prepareAnnotations) and applies them to the tasks registered so far. */
  setAnnotations(annotations: readonly TaskAnnotation[]): void {
    this.annotations = annotations;
    for (const task of this.tasks.values()) this.annotate(task);
  }

  private annotate(task: AnyTask): void {
    const extra = this.annotations.length ? resolveAnnotations(this.annotations, task.taskName) : {};
    if (!Object.keys(extra).length) {
      this.views.delete(task.taskName);
      return;
    }
    const options = Object.freeze({ ...task.options, ...extra });
    this.views.set(task.taskName, new Proxy(task, { get: (target, key, receiver) => (key === 'options' ? options : (Reflect.get(target, key, receiver) as unknown)) }));
  }

  /** The task, with its annotations applied. */
  get(name: string): AnyTask | undefined {
    return this.views.get(name) ?? this.tasks.get(name);
  }

  has(name: string): boolean {
    return this.tasks.has(name);
  }

  /**
   * Registered names, sorted (for the banner and `registered`). Celery's built-in `celery.*` tasks
   * are left out unless asked for, as Celery's banner does.
   */
  names(options: { builtins?: boolean } = {}): string[] {
    const all = [...this.tasks.keys()].sort();
    return options.builtins ? all : all.filter((n) => !n.startsWith('celery.'));
  }

  get size(): number {
    return this.tasks.size;
  }
}
