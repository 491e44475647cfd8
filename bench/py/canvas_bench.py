"""
Client side of the Python Celery canvas benchmark (see bench/canvas.mjs and bench/README.md).
Run by bench/canvas.mjs with /usr/bin/python3 while a Celery worker of cvbench_app serves the queue.

argv[1]: JSON {"chordSize", "chainLength", "warmup", "repeat", "timeoutS", "idsFile"}.
For each of warm-up (untimed) and `repeat` timed rounds: one chord, then one chain.
  chord: chord([noop.s(i) for i in range(chordSize)], tsum.s()); timed from apply_async() until
         the body's result has been read ({"n": chordSize, "sum": ...} is checked).
  chain: chain(inc.s(0), inc.s() x (chainLength - 1)); timed from apply_async() until the last
         result has been read (== chainLength is checked).
The canvas objects are built and frozen (ids assigned; apply_async keeps them) before the clock
starts, and their task and group ids are appended to idsFile (one per line, "t <id>" or "g <id>"),
so the orchestrator can delete exactly those result keys even if this process is killed mid-run
(the ids of the results are appended again after each round). The last stdout line is the JSON
report.
"""
import json
import sys
import time

from celery import chain, chord

import cvbench_app
from cvbench_app import inc, noop, tsum

cfg = json.loads(sys.argv[1])
N = cfg['chordSize']
L = cfg['chainLength']
TIMEOUT = cfg.get('timeoutS', 60)
ids_file = open(cfg['idsFile'], 'a', buffering=1)


def record_ids(res):
    """Writes the ids of a result graph (chord body + header group, or a chain's steps)."""
    lines = []
    r = res
    while r is not None:
        children = getattr(r, 'results', None)
        if children is not None:  # GroupResult
            lines.append('g ' + r.id)
            lines.extend('t ' + c.id for c in children)
        else:
            lines.append('t ' + r.id)
        r = r.parent
    ids_file.write('\n'.join(lines) + '\n')


def run_chord():
    sig = chord([noop.s(i) for i in range(N)], tsum.s())
    record_ids(sig.freeze())
    t0 = time.perf_counter()
    res = sig.apply_async()
    try:
        value = res.get(timeout=TIMEOUT, disable_sync_subtasks=False)
        ms = (time.perf_counter() - t0) * 1000
    finally:
        record_ids(res)
    expected = {'n': N, 'sum': N * (N - 1) // 2}
    if value != expected:
        raise RuntimeError('chord returned %r, expected %r' % (value, expected))
    return ms


def run_chain():
    sig = chain(inc.s(0), *[inc.s() for _ in range(L - 1)])
    record_ids(sig.freeze())
    t0 = time.perf_counter()
    res = sig.apply_async()
    try:
        value = res.get(timeout=TIMEOUT, disable_sync_subtasks=False)
        ms = (time.perf_counter() - t0) * 1000
    finally:
        record_ids(res)
    if value != L:
        raise RuntimeError('chain returned %r, expected %r' % (value, L))
    return ms


def main():
    for _ in range(cfg.get('warmup', 1)):
        run_chord()
        run_chain()
    chord_ms, chain_ms = [], []
    for _ in range(cfg['repeat']):
        chord_ms.append(run_chord())
        chain_ms.append(run_chain())
    import resource
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({'chordMs': chord_ms, 'chainMs': chain_ms, 'clientPeakRss': rss}), flush=True)
    cvbench_app.app.close()


if __name__ == '__main__':
    main()
