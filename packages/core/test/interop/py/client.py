"""Python Celery client of the worker interop tests: sends tasks and reads results, prints JSON.

Run with Debian's interpreter (/usr/bin/python3, python3-celery 5.2.6), PYTHONPATH = this folder,
configured by the CELERIAC_INTEROP_* variables of celery_tasks.py:

    client.py send SPEC          SPEC is a JSON object, or a JSON list of them (sent in order, then
                                 waited for in order):
                                   {"name": "interop.add", "args": [2, 3], "kwargs": {},
                                    "options": {...apply_async options: task_id, countdown,
                                                expires (seconds, may be negative), priority,
                                                serializer, ignore_result, queue...},
                                    "wait": <seconds to wait for the result, or null: do not wait>}
    client.py result ID [WAIT]   reads the result of a task id, waiting up to WAIT seconds if given

Prints one JSON document: a report, or a list of reports (for a list SPEC):

    {"id", "state", "result", "result_type", "result_repr", "exc_type", "exc_module",
     "exc_message", "traceback", "date_done", "states", "timed_out", "sent_at", "done_at"}

`result` is the value for non-exception states (null otherwise); `exc_*` describe the exception
Python rebuilt for FAILURE/REVOKED/RETRY (its class name, its class's module, its args); `states`
lists the states seen while waiting (Redis pub/sub messages, e.g. ["RETRY", "SUCCESS"]);
`date_done` is the finish time as Celery parsed it (isoformat of a naive UTC datetime); `sent_at` and
`done_at` are Unix float seconds.
"""
import json
import sys
import time

from celery.exceptions import TimeoutError as CeleryTimeoutError
from celery.result import AsyncResult

from celery_tasks import app


def report(res, states=None, sent_at=None, timed_out=False):
    state = res.state
    value = res.result
    out = {
        'id': res.id,
        'state': state,
        'result': None,
        'result_type': type(value).__name__,
        'result_repr': repr(value),
        'exc_type': None,
        'exc_module': None,
        'exc_message': None,
        'traceback': res.traceback,
        'date_done': None,
        'states': states or [],
        'timed_out': timed_out,
        'sent_at': sent_at,
        'done_at': time.time(),
    }
    if isinstance(value, BaseException):
        out['exc_type'] = type(value).__name__
        out['exc_module'] = type(value).__module__
        out['exc_message'] = list(value.args)
    else:
        out['result'] = value
    date_done = res.date_done  # parsed by Celery (celery.utils.iso8601): naive UTC
    if date_done is not None:
        out['date_done'] = date_done.isoformat()
    return out


def wait(res, seconds, sent_at=None):
    states = []

    def on_message(meta):
        # The callback sees every message of the client's subscription: keep this task's only.
        if meta.get('task_id') == res.id:
            states.append(meta.get('status'))

    try:
        res.get(timeout=seconds, propagate=False, on_message=on_message)
        return report(res, states, sent_at)
    except CeleryTimeoutError:
        return report(res, states, sent_at, timed_out=True)


def send(specs):
    sent = []
    for spec in specs:
        sent_at = time.time()
        res = app.send_task(spec['name'], args=spec.get('args') or [], kwargs=spec.get('kwargs') or {},
                            **(spec.get('options') or {}))
        sent.append((res, spec.get('wait'), sent_at))
    out = []
    for res, seconds, sent_at in sent:
        if seconds is None:
            out.append({'id': res.id, 'sent_at': sent_at})
        else:
            out.append(wait(res, seconds, sent_at))
    return out


def main(argv):
    if len(argv) >= 2 and argv[0] == 'send':
        spec = json.loads(argv[1])
        reports = send(spec if isinstance(spec, list) else [spec])
        doc = reports if isinstance(spec, list) else reports[0]
    elif len(argv) >= 2 and argv[0] == 'result':
        res = AsyncResult(argv[1], app=app)
        doc = wait(res, float(argv[2])) if len(argv) > 2 else report(res)
    else:
        raise SystemExit(__doc__)
    sys.stdout.write(json.dumps(doc, default=repr) + '\n')
    sys.stdout.flush()


if __name__ == '__main__':
    main(sys.argv[1:])
