"""Celery's side of the result read-back interop test (result-readback.int.test.ts).

Run with Debian's interpreter (/usr/bin/python3, python3-celery 5.2.6):

    readback.py read  <backend url> <task id>...   prints {id: {state, result, ...}} as JSON
    readback.py store <backend url> <spec json>    stores [{"id", "kind": "success", "value"} |
                                                   {"id", "kind": "failure", "message"}]

Celery 5.2.6's Redis backend has no global_keyprefix for results (it reads
result_backend_transport_options only for retry_policy and result_chord_ordered), so the test
isolates itself with a dedicated Redis DB in the URL and unique task ids instead of a prefix.
"""
import json
import sys
import traceback

from celery import Celery
from celery.result import AsyncResult


def make_app(url):
    return Celery('celeriac_interop', broker='memory://', backend=url)


def describe(res):
    state = res.state
    value = res.result
    out = {
        'state': state,
        'result': None,
        'result_repr': repr(value),
        'result_type': type(value).__module__ + '.' + type(value).__qualname__,
        'traceback': res.traceback,
        'exc_type': None,
        'exc_module': None,
        'exc_args': None,
        'date_done': None,
        'date_done_aware': None,
    }
    if isinstance(value, BaseException):
        out['exc_type'] = type(value).__name__
        out['exc_module'] = type(value).__module__
        out['exc_args'] = list(value.args)
    else:
        out['result'] = value
    date_done = res.date_done
    if date_done is not None:
        out['date_done'] = date_done.isoformat()
        out['date_done_aware'] = date_done.tzinfo is not None
    return out


def read(url, ids):
    app = make_app(url)
    print(json.dumps({task_id: describe(AsyncResult(task_id, app=app)) for task_id in ids}))


def store(url, spec):
    app = make_app(url)
    for item in json.loads(spec):
        if item['kind'] == 'success':
            app.backend.store_result(item['id'], item['value'], 'SUCCESS')
        elif item['kind'] == 'failure':
            try:
                raise ValueError(item['message'])
            except ValueError as exc:
                app.backend.store_result(item['id'], exc, 'FAILURE', traceback=traceback.format_exc())
        else:
            raise SystemExit('unknown kind %r' % item['kind'])
    print(json.dumps({'stored': len(json.loads(spec))}))


def main(argv):
    if len(argv) < 3 or argv[0] not in ('read', 'store'):
        raise SystemExit(__doc__)
    if argv[0] == 'read':
        read(argv[1], argv[2:])
    else:
        store(argv[1], argv[2])


if __name__ == '__main__':
    main(sys.argv[1:])
