"""Python Celery's event receiver, for events-interop.int.test.ts.

    events_peer.py

Runs `app.events.Receiver` (celery.events.EventReceiver) of celery_tasks' app (broker from
CELERIAC_INTEROP_BROKER) with wakeup, as `celery events` does, and feeds every event to
`app.events.State()`. Prints {"ready": true}, then one JSON line per event until killed:

    {"event": <the event as Celery hands it to handlers>,
     "worker_alive": <State's worker.alive, for worker events>,
     "task_state": <State's task.state>, "task_name": ..., "task_result": ..., for task events}
"""
import json

from celery_tasks import app


def main():
    state = app.events.State()

    def on_event(event):
        state.event(event)
        out = {'event': event}
        if event['type'].startswith('worker-'):
            worker = state.workers.get(event['hostname'])
            out['worker_alive'] = bool(worker and worker.alive)
        elif event['type'].startswith('task-'):
            task = state.tasks.get(event['uuid'])
            out['task_state'] = task.state if task else None
            out['task_name'] = task.name if task else None
            out['task_result'] = task.result if task else None
        print(json.dumps(out, default=str), flush=True)

    with app.connection_for_read() as conn:
        receiver = app.events.Receiver(conn, handlers={'*': on_event})
        print(json.dumps({'ready': True}), flush=True)
        receiver.capture(limit=None, timeout=None, wakeup=True)


if __name__ == '__main__':
    main()
