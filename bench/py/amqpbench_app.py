"""
Celery app of the amqp benchmark (bench/amqp.mjs): the Python Celery worker side of "worker no-op
throughput on RabbitMQ". Configured from the environment:

  AMQPBENCH_URL       amqp:// URL with this run's vhost (the bench creates and deletes the vhost)
  AMQPBENCH_QUEUE     queue name (the bench pre-fills it with Celery protocol-2 messages)
  AMQPBENCH_N         tasks to count: when the N-th task has finished, the worker prints
                      "AMQPBENCH_DONE <time.time()>" on fd 2 ("AMQPBENCH_FIRST <time>" after the first)
  AMQPBENCH_PREFETCH  worker_prefetch_multiplier (default 4, as Celeriac's bench worker)

Counting: a shared-memory counter (multiprocessing.Value, created at import in the main process, so
prefork children inherit it through fork) incremented by the task_postrun signal, and one of acks
(kombu's Message.ack, wrapped; Celery acks in the main process): "AMQPBENCH_ACKED <time>" when the
N-th ack has been sent. No broker or Redis
round trip is added per task. worker_ready prints "AMQPBENCH_READY <time.time()>": the clock starts
there (Celery's consumer is set up, messages are about to be processed), as Celeriac's starts at
worker.start() after connecting.
"""
import multiprocessing
import os
import sys
import time

from celery import Celery
from celery.signals import task_postrun, worker_ready
from kombu.message import Message

URL = os.environ.get('AMQPBENCH_URL', 'amqp://guest:guest@127.0.0.1:5672//')
QUEUE = os.environ.get('AMQPBENCH_QUEUE', 'pybench')
N = int(os.environ.get('AMQPBENCH_N', '0'))

app = Celery('amqpbench', broker=URL)
app.conf.update(
    task_default_queue=QUEUE,
    task_serializer='json',
    accept_content=['json'],
    task_ignore_result=True,
    worker_prefetch_multiplier=int(os.environ.get('AMQPBENCH_PREFETCH', '4')),
    worker_enable_remote_control=False,
    worker_send_task_events=False,
    task_send_sent_event=False,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)

_done = multiprocessing.Value('q', 0)
_acked = multiprocessing.Value('q', 0)
_kombu_ack = Message.ack


def _counting_ack(self, *args, **kwargs):
    # Celery acks in the worker's main process (acks_late off: when a task is accepted), a few ms
    # after the pool may already have run it: the run ends when both counts reach N.
    _kombu_ack(self, *args, **kwargs)
    with _acked.get_lock():
        _acked.value += 1
        n = _acked.value
    if n == N:
        os.write(2, ('AMQPBENCH_ACKED %.6f\n' % time.time()).encode())


Message.ack = _counting_ack


@app.task(name='bench.noop')
def noop(i):
    return i


@task_postrun.connect
def _count(**_):
    with _done.get_lock():
        _done.value += 1
        n = _done.value
    if n == 1:
        os.write(2, ('AMQPBENCH_FIRST %.6f\n' % time.time()).encode())
    if n == N:
        os.write(2, ('AMQPBENCH_DONE %.6f\n' % time.time()).encode())


@worker_ready.connect
def _ready(**_):
    sys.stdout.write('AMQPBENCH_READY %.6f\n' % time.time())
    sys.stdout.flush()
