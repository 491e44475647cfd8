// loadNestContext (what `celeriac worker --nest` and pool children boot): a module class or a
// bootstrap function, the roles forced on the module (never a second worker), the module's worker
// options handed to the CLI, and clear errors for files that cannot be booted.
import { join } from 'node:path';
import { CeleriacLifecycle, loadNestContext, loadNestContextForPool, type LoadedNestContext } from '@celeriac/nestjs';

const FILE = join(__dirname, 'nest-context', 'modules.ts');
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

async function load(spec: string, roles?: Array<'producer' | 'worker' | 'beat'>): Promise<LoadedNestContext> {
  const loaded = await loadNestContext(spec, { roles });
  opened.push(loaded);
  return loaded;
}

describe('loadNestContext', () => {
  it('boots a module as a producer even when its options ask for the worker role, and hands over its worker options', async () => {
    const loaded = await load(`${FILE}:AppModule`);
    expect(loaded.exportName).toBe('AppModule');
    expect(loaded.file).toBe(FILE);
    expect(loaded.app.tasks.names()).toContain('billing.charge');
    const lifecycle = loaded.context.get(CeleriacLifecycle);
    expect(lifecycle.roles).toEqual(['producer']);
    expect(lifecycle.worker).toBeUndefined();
    expect(loaded.workerOptions).toEqual({ queues: ['billing'], concurrency: 3 });
    // the task runs with its provider's injected service
    const charge = loaded.app.tasks.get('billing.charge')!;
    await expect(Promise.resolve(charge.fn.call(undefined as never, 'acme', 2))).resolves.toBe('acme:20');
  });

  it('the roles it is given replace the module\'s (-B: producer and beat)', async () => {
    const loaded = await load(`${FILE}:AppModule`, ['producer', 'beat']);
    expect(loaded.context.get(CeleriacLifecycle).roles).toEqual(['producer', 'beat']);
  });

  it('picks AppModule when no export is named', async () => {
    expect((await load(FILE)).exportName).toBe('AppModule');
  });

  it('boots a bootstrap function, with the roles forced on what it creates', async () => {
    const loaded = await load(`${FILE}:bootstrap`);
    expect(loaded.exportName).toBe('bootstrap');
    expect(loaded.context.get(CeleriacLifecycle).roles).toEqual(['producer']);
    expect(loaded.app.tasks.has('billing.charge')).toBe(true);
  });

  it('the pool entry boots the same app as a producer and closes it', async () => {
    const child = await loadNestContextForPool(`${FILE}:AppModule`);
    expect(child.app.tasks.has('billing.charge')).toBe(true);
    await child.close();
  });

  it('says what is wrong with a file it cannot boot', async () => {
    await expect(loadNestContext(`${FILE}:NoCeleriacModule`)).rejects.toThrow(/boots no CeleriacModule \(import CeleriacModule\.forRoot/);
    await expect(loadNestContext(`${FILE}:settings`)).rejects.toThrow(/export "settings" of .* is an object, not a Nest module or bootstrap function\. Exports found: .*AppModule \(Nest module\)/);
    await expect(loadNestContext(`${FILE}:missing`)).rejects.toThrow(/export "missing" of .* is missing/);
    await expect(loadNestContext(`${FILE}:notABootstrap`)).rejects.toThrow(/notABootstrap\(\) of .* returned number; a bootstrap function must return the Nest application/);
    await expect(loadNestContext(join(__dirname, 'nest-context', 'nope.js'))).rejects.toThrow(/no such file/);
  });
});
