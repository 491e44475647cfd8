"""Celery app of the worker interop tests (python-client-to-node-worker, node-client-to-python-worker).

Runs under Debian's interpreter (/usr/bin/python3, python3-celery 5.2.6). The same module serves the
Python worker (`celery -A celery_tasks worker ...`) and the Python client (client.py), so both agree
on broker, backend and queue. Everything comes from environment variables set by
helpers/python.ts:

  CELERIAC_INTEROP_BROKER      broker URL          (redis://127.0.0.1:6379/<db>)
  CELERIAC_INTEROP_BACKEND     result backend URL  (defaults to the broker URL)
  CELERIAC_INTEROP_QUEUE       task_default_queue: the only queue the tests use (unique per run)
  CELERIAC_INTEROP_RECORD_KEY  Redis list interop.record appends to (default <queue>:record)
  CELERIAC_INTEROP_MAX_PRIORITY  task_queue_max_priority (RabbitMQ x-max-priority), when set

Task names are explicit (`interop.*`), the same names the Node side registers, so a test can send
the same call to either worker.
"""
import os
import time

import redis
from celery import Celery

BROKER_URL = os.environ.get('CELERIAC_INTEROP_BROKER', 'redis://127.0.0.1:6379/11')
BACKEND_URL = os.environ.get('CELERIAC_INTEROP_BACKEND') or BROKER_URL
QUEUE = os.environ.get('CELERIAC_INTEROP_QUEUE', 'celeriac-interop')
RECORD_KEY = os.environ.get('CELERIAC_INTEROP_RECORD_KEY') or QUEUE + ':record'

app = Celery('celery_tasks')
app.conf.update(
    broker_url=BROKER_URL,
    result_backend=BACKEND_URL,
    # The queue is named per test run; Celery then also names the default exchange and routing key
    # after it (task_default_exchange/routing_key fall back to the queue name).
    task_default_queue=QUEUE,
    accept_content=['json', 'msgpack'],
    result_accept_content=['json', 'msgpack'],
    # One message reserved at a time, so priority order is the order tasks run in.
    worker_prefetch_multiplier=1,
)
# RabbitMQ priority queues: everyone must declare the queue with the same x-max-priority.
if os.environ.get('CELERIAC_INTEROP_MAX_PRIORITY'):
    app.conf.task_queue_max_priority = int(os.environ['CELERIAC_INTEROP_MAX_PRIORITY'])

_redis = None


def _records():
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(BACKEND_URL)
    return _redis


class InteropError(Exception):
    """A user-defined exception: exc_module is this module, exc_type its name."""


@app.task(name='interop.add')
def add(x, y):
    return x + y


@app.task(name='interop.echo')
def echo(value):
    return value


@app.task(name='interop.kwargs')
def kwargs(a, b=2, *, c=3):
    return {'a': a, 'b': b, 'c': c}


@app.task(name='interop.fail')
def fail(msg):
    raise ValueError(msg)


@app.task(name='interop.custom_fail')
def custom_fail():
    raise InteropError('custom failure', 42)


@app.task(name='interop.retry_once', bind=True)
def retry_once(self):
    if self.request.retries == 0:
        raise self.retry(countdown=1, exc=KeyError('first attempt fails'))
    return self.request.retries


@app.task(name='interop.record')
def record(token):
    _records().rpush(RECORD_KEY, token)
    return token


@app.task(name='interop.bigint')
def bigint():
    return 2 ** 53 + 1


@app.task(name='interop.unicode')
def unicode(s):
    # len() counts code points, so the sender can tell the text arrived decoded, not as escapes.
    return {'value': s, 'length': len(s)}


@app.task(name='interop.describe')
def describe(value):
    """How the value looks in Python after decoding (an int beyond 2**53 must be an exact int)."""
    return {'type': type(value).__name__, 'repr': repr(value)}


@app.task(name='interop.now')
def now():
    """Unix time (float seconds) when the task ran: countdown tests compare it with the send time."""
    return time.time()
