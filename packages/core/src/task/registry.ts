/** Task registry: name -> task. Duplicate names are an error unless it is the same task. */
import { ConfigError } from '../errors';
import type { AnyTask } from './task';

export class TaskRegistry {
  private readonly tasks = new Map<string, AnyTask>();

  register(task: AnyTask): void {
    const existing = this.tasks.get(task.taskName);
    if (existing && existing !== task && existing.fn !== task.fn) {
      throw new ConfigError('task', `Task "${task.taskName}" is already registered with another function. Task names must be unique per app.`);
    }
    this.tasks.set(task.taskName, task);
  }

  get(name: string): AnyTask | undefined {
    return this.tasks.get(name);
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
