"""A Python Celery 5.2.6 peer of the rpc:// result backend (run by Debian's /usr/bin/python3).

  rpc_peer.py send <broker url> <reply queue> <task id> <json result>
      stores SUCCESS for <task id> the way a Python worker does: a message to <reply queue>.
  rpc_peer.py wait <broker url> <task id> <timeout s>
      declares this client's reply queue, prints {"oid": ...}, then waits for <task id> on it and
      prints {"state": ..., "result": ...}.
"""
import json
import sys

from celery import Celery
from celery.app.task import Context


def main():
    mode, url = sys.argv[1], sys.argv[2]
    app = Celery('rpc_peer', broker=url, backend='rpc://')
    if mode == 'send':
        queue, task_id, result = sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
        request = Context(id=task_id, reply_to=queue, correlation_id=task_id, delivery_info={})
        app.backend.store_result(task_id, result, 'SUCCESS', request=request)
        print(json.dumps({"sent": task_id}), flush=True)
    elif mode == 'wait':
        task_id, timeout = sys.argv[3], float(sys.argv[4])
        result = app.AsyncResult(task_id)
        app.backend.result_consumer.start(task_id)
        print(json.dumps({"oid": app.backend.oid}), flush=True)
        value = result.get(timeout=timeout)
        print(json.dumps({"state": result.state, "result": value}), flush=True)
    else:
        raise SystemExit('unknown mode ' + mode)


if __name__ == '__main__':
    main()
