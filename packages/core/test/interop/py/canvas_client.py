"""Python Celery client of the canvas interop test: builds a workflow with Celery's own canvas,
sends it, waits for its results with AsyncResult.get / GroupResult.get, and prints one JSON report.

Run with Debian's interpreter (/usr/bin/python3, python3-celery 5.2.6), PYTHONPATH = this folder,
configured by the variables of canvas_tasks.py:

    canvas_client.py SCENARIO [WAIT]     WAIT: seconds each get() may wait (default 20)

Scenarios (tasks by name; whichever worker consumes the queue runs them):

    chain              chain(add.s(1, 2), add.s(3), mul.s(10))
    group              group(add.s(i, i) for i in range(5))
    chord              chord([add.s(1, 1), add.s(2, 2)], xsum.s())
    chord_fail         chord([add.s(1, 1), fail.s('boom')], xsum.s())
    chain_group        chain(add.s(1, 1), group(mul.s(2), mul.s(3)), xsum.s())
    link               add.apply_async((2, 3), link=mul.s(10)) and
                       fail.apply_async(('boom',), link_error=record_error.s())
    mixed_chain        chain(py.step([], 'a'), node.step('b'), py.step('c'))
    mixed_chord        chord([py.step([], 'p0'), node.step([], 'n1'), py.last([], 'p2', 2)], node.collect.s())
    mixed_chain_chord  chain(py.step([], 'a'), group(node.step('x'), py.last('y', 1)), node.collect.s())

The report always has `ids` (every task id the client knows, for cleanup) and `groups` (group ids);
the rest depends on the scenario. Exceptions are reported as {"type", "module", "args"}. When a
get() fails (a timeout...), the report is {"client_error": repr, "ids", "groups"}; chain_group instead
reports {"timed_out": true, "value": null} with its body and first step ids.
"""
import json
import sys
import uuid

from celery import chain, chord, group
from celery.exceptions import TimeoutError as CeleryTimeoutError

from canvas_tasks import add, app, fail, mul, py_last, py_step, record_error, xsum

WAIT = 20.0
# Results sent so far and ids made up front: reported even when a get() fails, for cleanup.
SENT = []
EXTRA_IDS = []


def exc_report(exc):
    return {'type': type(exc).__name__, 'module': type(exc).__module__, 'args': list(exc.args)}


def ids_of(res, ids, groups):
    """Every id reachable from a result: itself, its parents, a group's members."""
    seen = set()
    while res is not None and id(res) not in seen:
        seen.add(id(res))
        if hasattr(res, 'results') and res.results is not None:
            groups.append(res.id)
            for member in res.results:
                ids_of(member, ids, groups)
        else:
            ids.append(res.id)
        res = getattr(res, 'parent', None)


def scenario_chain():
    res = chain(add.s(1, 2), add.s(3), mul.s(10)).apply_async()
    SENT.append(res)
    out = {'value': res.get(timeout=WAIT)}
    out['steps'] = [res.parent.parent.id, res.parent.id, res.id]
    out['parents'] = [res.parent.get(timeout=WAIT), res.parent.parent.get(timeout=WAIT)]
    return res, out


def scenario_group():
    res = group(add.s(i, i) for i in range(5)).apply_async()
    SENT.append(res)
    out = {'value': res.get(timeout=WAIT), 'group_id': res.id, 'members': [r.id for r in res.results]}
    out['completed'] = res.completed_count()
    return res, out


def scenario_chord():
    res = chord([add.s(1, 1), add.s(2, 2)], xsum.s()).apply_async()
    SENT.append(res)
    out = {'value': res.get(timeout=WAIT), 'body_id': res.id}
    out['group_id'] = res.parent.id if res.parent is not None else None
    out['members'] = [r.id for r in res.parent.results] if res.parent is not None else []
    return res, out


def scenario_chord_fail():
    header = [add.s(1, 1), fail.s('boom')]
    res = chord(header, xsum.s()).apply_async()
    SENT.append(res)
    value = res.get(timeout=WAIT, propagate=False)
    out = {'state': res.state, 'body_id': res.id, 'group_id': res.parent.id if res.parent is not None else None}
    out['members'] = [r.id for r in res.parent.results] if res.parent is not None else []
    out['error'] = exc_report(value) if isinstance(value, BaseException) else {'value': value}
    return res, out


def scenario_chain_group():
    res = chain(add.s(1, 1), group(mul.s(2), mul.s(3)), xsum.s()).apply_async()
    SENT.append(res)
    first = res
    while first.parent is not None:
        first = first.parent
    out = {'body_id': res.id, 'first_id': first.id}
    try:
        out['value'] = res.get(timeout=WAIT)
        out['timed_out'] = False
    except CeleryTimeoutError:
        out['value'] = None
        out['timed_out'] = True
    return res, out


def scenario_link():
    callback_id = str(uuid.uuid4())
    errback_id = str(uuid.uuid4())
    EXTRA_IDS.extend([callback_id, errback_id])
    ok = add.apply_async((2, 3), link=mul.s(10).set(task_id=callback_id))
    SENT.append(ok)
    bad = fail.apply_async(('boom',), link_error=record_error.s().set(task_id=errback_id))
    SENT.append(bad)
    out = {'value': ok.get(timeout=WAIT), 'ok_id': ok.id, 'bad_id': bad.id}
    callback = app.AsyncResult(callback_id)
    out['callback'] = {'id': callback_id, 'value': callback.get(timeout=WAIT)}
    # The children the worker stored with add's result (Celery reads them back as AsyncResults).
    out['children'] = [c.id for c in (ok.children or [])]
    failure = bad.get(timeout=WAIT, propagate=False)
    out['failure'] = exc_report(failure) if isinstance(failure, BaseException) else {'value': failure}
    errback = app.AsyncResult(errback_id)
    out['errback'] = {'id': errback_id, 'value': errback.get(timeout=WAIT)}
    return ok, out


def scenario_mixed_chain():
    node_step = app.signature('node.step')
    res = chain(py_step.s([], 'a'), node_step.clone(('b',)), py_step.s('c')).apply_async()
    SENT.append(res)
    out = {'value': res.get(timeout=WAIT), 'steps': [res.parent.parent.id, res.parent.id, res.id]}
    return res, out


def scenario_mixed_chord():
    header = [py_step.s([], 'p0'), app.signature('node.step', args=([], 'n1')), py_last.s([], 'p2', 2)]
    res = chord(header, app.signature('node.collect')).apply_async()
    SENT.append(res)
    out = {'value': res.get(timeout=WAIT), 'body_id': res.id}
    out['group_id'] = res.parent.id if res.parent is not None else None
    out['members'] = [r.id for r in res.parent.results] if res.parent is not None else []
    return res, out


def scenario_mixed_chain_chord():
    header = group(app.signature('node.step', args=('x',)), py_last.s('y', 1))
    res = chain(py_step.s([], 'a'), header, app.signature('node.collect')).apply_async()
    SENT.append(res)
    out = {'value': res.get(timeout=WAIT), 'body_id': res.id}
    # body -> header GroupResult -> first step. (The group id frozen here is not the one the worker
    # gives the header when it applies the chord, so the test finds the header by parent id.)
    node = res
    while node.parent is not None:
        node = node.parent
    out['first_id'] = node.id
    return res, out


SCENARIOS = {
    'chain': scenario_chain,
    'group': scenario_group,
    'chord': scenario_chord,
    'chord_fail': scenario_chord_fail,
    'chain_group': scenario_chain_group,
    'link': scenario_link,
    'mixed_chain': scenario_mixed_chain,
    'mixed_chord': scenario_mixed_chord,
    'mixed_chain_chord': scenario_mixed_chain_chord,
}


def main(argv):
    global WAIT
    if not argv or argv[0] not in SCENARIOS:
        raise SystemExit(__doc__)
    if len(argv) > 1:
        WAIT = float(argv[1])
    try:
        _, out = SCENARIOS[argv[0]]()
    except Exception as exc:  # reported to the test, which fails with it (after cleaning up)
        out = {'client_error': repr(exc)}
    ids, groups = [], []
    for res in SENT:
        ids_of(res, ids, groups)
    out['ids'] = ids + EXTRA_IDS
    out['groups'] = groups
    sys.stdout.write(json.dumps(out, default=repr) + '\n')
    sys.stdout.flush()


if __name__ == '__main__':
    main(sys.argv[1:])
