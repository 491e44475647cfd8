/**
 * The sample's Celeriac app. Settings come from CELERIAC_* environment variables; with none set it
 * runs on embedded defaults: the in-memory broker and result backend, no server needed.
 * Point it at Redis with CELERIAC_BROKER_URL=redis://127.0.0.1:6379/0 CELERIAC_RESULT_BACKEND=redis://127.0.0.1:6379/0.
 */
import { Celeriac, loadConfig } from '@celeriac/core';

const fromEnv = loadConfig({ env: process.env, prefix: 'CELERIAC_' });

export const app = new Celeriac({
  main: 'sample',
  brokerUrl: 'memory://',
  resultBackend: 'memory://',
  workerLogLevel: 'warn',
  ...fromEnv,
});
