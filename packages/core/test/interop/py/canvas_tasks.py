"""Celery app of the canvas interop test (canvas-interop.int.test.ts).

Runs under Debian's interpreter (/usr/bin/python3, python3-celery 5.2.6). The same module serves the
Python worker (`celery -A canvas_tasks worker ...`) and the Python client (canvas_client.py).
Configured by environment variables (set by the test):

  CELERIAC_INTEROP_BROKER      broker URL          (redis://127.0.0.1:6379/10)
  CELERIAC_INTEROP_BACKEND     result backend URL  (defaults to the broker URL)
  CELERIAC_INTEROP_QUEUE       task_default_queue (unique per run)
  CELERIAC_INTEROP_RECORD_KEY  Redis list every task here appends a JSON record of its request to:
                               {"by": "py", "id", "name", "group", "parent", "root"}; the test reads
                               it to check the ids on the wire and to clean up every result it made
  CANVAS_NODE_QUEUE            when set, task_routes sends `node.*` there (tasks only Node defines)
  CANVAS_PY_QUEUE              when set, task_routes sends `py.*` there (tasks only Python defines)

`canvas.*` tasks are the ones the Node side also registers under the same names (so either worker
can run a workflow); `py.*` exist only here, `node.*` only in Node: a workflow mixing them shows
which runtime ran which step.
"""
import json
import os
import time

import redis
from celery import Celery

BROKER_URL = os.environ.get('CELERIAC_INTEROP_BROKER', 'redis://127.0.0.1:6379/10')
BACKEND_URL = os.environ.get('CELERIAC_INTEROP_BACKEND') or BROKER_URL
QUEUE = os.environ.get('CELERIAC_INTEROP_QUEUE', 'celeriac-canvas-interop')
RECORD_KEY = os.environ.get('CELERIAC_INTEROP_RECORD_KEY') or QUEUE + ':record'
NODE_QUEUE = os.environ.get('CANVAS_NODE_QUEUE')
PY_QUEUE = os.environ.get('CANVAS_PY_QUEUE')

routes = {}
if NODE_QUEUE:
    routes['node.*'] = {'queue': NODE_QUEUE}
if PY_QUEUE:
    routes['py.*'] = {'queue': PY_QUEUE}

app = Celery('canvas_tasks')
app.conf.update(
    broker_url=BROKER_URL,
    result_backend=BACKEND_URL,
    task_default_queue=QUEUE,
    task_routes=routes,
    accept_content=['json'],
    result_accept_content=['json'],
    worker_prefetch_multiplier=1,
)

_redis = None


def _client():
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(BACKEND_URL)
    return _redis


def _record(task):
    req = task.request
    _client().rpush(RECORD_KEY, json.dumps({
        'by': 'py', 'id': req.id, 'name': task.name, 'group': req.group,
        'parent': req.parent_id, 'root': req.root_id,
    }))


# --- the tasks both runtimes define -------------------------------------------------------------

@app.task(name='canvas.add', bind=True)
def add(self, x, y):
    _record(self)
    return x + y


@app.task(name='canvas.mul', bind=True)
def mul(self, x, y):
    _record(self)
    return x * y


@app.task(name='canvas.xsum', bind=True)
def xsum(self, values):
    _record(self)
    return sum(values)


@app.task(name='canvas.fail', bind=True)
def fail(self, msg):
    _record(self)
    raise ValueError(msg)


@app.task(name='canvas.record_error', bind=True)
def record_error(self, failed_id):
    """An old-style errback (one argument: the failed task's id; bind=True keeps it old style)."""
    _record(self)
    return 'handled:' + failed_id


# --- Python-only tasks of the mixed workflows ---------------------------------------------------

@app.task(name='py.step', bind=True)
def py_step(self, trail, tag):
    _record(self)
    return list(trail) + ['py:' + tag]


def _joined(group_id):
    """How many header results the chord join of group_id holds (a sorted set, or a list when
    result_chord_ordered is off)."""
    key = 'celery-taskset-meta-%s.j' % group_id
    kind = _client().type(key)
    if kind == b'zset':
        return _client().zcard(key)
    if kind == b'list':
        return _client().llen(key)
    return 0


@app.task(name='py.last', bind=True)
def py_last(self, trail, tag, others):
    """A chord header step that finishes only once the `others` other members joined the chord, so
    that Python is the one completing it (and sending the body)."""
    _record(self)
    deadline = time.monotonic() + 25
    while _joined(self.request.group) < others:
        if time.monotonic() > deadline:
            raise TimeoutError('only %d of %d other chord members joined' % (_joined(self.request.group), others))
        time.sleep(0.02)
    return list(trail) + ['py:' + tag]


@app.task(name='py.collect', bind=True)
def py_collect(self, parts):
    _record(self)
    return {'by': 'py', 'parts': parts}
