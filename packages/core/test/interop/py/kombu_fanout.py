"""Kombu 5.2.4 on one side of a fanout exchange, for redis-fanout-kombu.int.test.ts.

    kombu_fanout.py consume <url> <exchange> <binding key> <timeout s> [global_keyprefix]
        Binds a fresh auto-delete queue to the fanout exchange, prints {"ready": true}, waits for one
        message (no_ack, as Celery consumes events and pidbox) and prints
        {"body", "headers", "delivery_info", "content_type"}, or {"timeout": true}.
    kombu_fanout.py publish <url> <exchange> <routing key> <JSON body> [global_keyprefix]
        Publishes one JSON message with headers {"from": "kombu"}; prints {"published": true}.

Each output is one JSON line on stdout.
"""
import json
import socket
import sys
import time
import uuid

from kombu import Connection, Exchange, Queue


def main():
    mode, url, exchange_name, key, arg = sys.argv[1:6]
    prefix = sys.argv[6] if len(sys.argv) > 6 else ''
    options = {'global_keyprefix': prefix} if prefix else {}
    with Connection(url, transport_options=options) as conn:
        exchange = Exchange(exchange_name, type='fanout', durable=False, auto_delete=True)
        if mode == 'publish':
            with conn.Producer() as producer:
                producer.publish(json.loads(arg), exchange=exchange, routing_key=key, serializer='json',
                                 headers={'from': 'kombu'}, declare=[exchange])
            print(json.dumps({'published': True}), flush=True)
            return
        queue = Queue('kombu-fanout-' + uuid.uuid4().hex[:8], exchange=exchange, routing_key=key,
                      durable=False, auto_delete=True)
        got = []

        def on_message(body, message):
            got.append({'body': body, 'headers': message.headers, 'delivery_info': message.delivery_info,
                        'content_type': message.content_type})

        deadline = time.monotonic() + float(arg)
        with conn.Consumer(queue, callbacks=[on_message], no_ack=True, accept=['json']):
            print(json.dumps({'ready': True}), flush=True)
            while not got and time.monotonic() < deadline:
                try:
                    conn.drain_events(timeout=0.5)
                except socket.timeout:
                    pass
        print(json.dumps(got[0] if got else {'timeout': True}, default=str), flush=True)


if __name__ == '__main__':
    main()
