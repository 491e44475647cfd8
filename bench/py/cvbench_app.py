"""
Celery app of the canvas benchmark (bench/canvas.mjs): the Python Celery side, same tasks as
bench/canvas-child.mjs. Configured from the environment so the worker (celery -A cvbench_app
worker ...) and the client (canvas_bench.py) build the same app:

  CVBENCH_URL     Redis URL with the DB (bench uses redis://127.0.0.1:6379/15), broker and results
  CVBENCH_PREFIX  kombu global_keyprefix: every broker key of this run starts with it
  CVBENCH_QUEUE   queue name (unique per run as well)
  CVBENCH_PREFETCH  worker_prefetch_multiplier (default 4, as Celeriac's bench worker)

Celery 5.2's Redis result backend has no key prefix: result keys are celery-task-meta-<id> and
celery-taskset-meta-<group id>[.j/.t/.s]; the client lists the ids it created so that bench/canvas.mjs
deletes exactly those (and result_expires bounds anything a crash leaves behind).
"""
import os
import sys

from celery import Celery
from celery.signals import worker_ready

URL = os.environ.get('CVBENCH_URL', 'redis://127.0.0.1:6379/15')
PREFIX = os.environ.get('CVBENCH_PREFIX', 'pycvbench-dev:')
QUEUE = os.environ.get('CVBENCH_QUEUE', 'pycvbench-dev')

app = Celery('cvbench', broker=URL, backend=URL)
app.conf.update(
    broker_transport_options={'global_keyprefix': PREFIX},
    task_default_queue=QUEUE,
    task_serializer='json',
    result_serializer='json',
    accept_content=['json'],
    result_expires=3600,
    worker_prefetch_multiplier=int(os.environ.get('CVBENCH_PREFETCH', '4')),
    worker_enable_remote_control=False,
    worker_send_task_events=False,
    task_send_sent_event=False,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name='cv.noop')
def noop(i):
    return i


@app.task(name='cv.tsum')
def tsum(values):
    return {'n': len(values), 'sum': sum(values)}


@app.task(name='cv.inc')
def inc(x):
    return x + 1


@worker_ready.connect
def _ready(**_):
    sys.stdout.write('CVBENCH_READY\n')
    sys.stdout.flush()
