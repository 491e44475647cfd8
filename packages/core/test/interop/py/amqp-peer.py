"""py-amqp (what Celery 5.2's Kombu uses on RabbitMQ) as a peer for the AMQP broker tests.

Usage: amqp-peer.py <vhost> <command> <json argument>, printing one JSON line:
  get      {"queue": q}                         basic_get (no_ack): headers and properties as py-amqp read them
  publish  {"queue": q, "headers": {...}}       basic_publish to "" with key q, headers as py-amqp types them
  declare  {"queue": q, "arguments": {...}}     queue_declare as Kombu does (durable, not auto-delete)
"""
import datetime
import decimal
import json
import sys

import amqp


def main():
    vhost, command, arg = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    conn = amqp.Connection(host='127.0.0.1:5672', userid='guest', password='guest', virtual_host=vhost)
    conn.connect()
    ch = conn.channel()
    try:
        if command == 'get':
            msg = ch.basic_get(arg['queue'], no_ack=True)
            if msg is None:
                print(json.dumps(None))
                return
            props = {k: v for k, v in msg.properties.items() if k != 'application_headers'}
            body = msg.body if isinstance(msg.body, str) else msg.body.decode('utf-8')
            print(json.dumps({'headers': msg.headers, 'properties': props, 'body': body}, default=str))
        elif command == 'publish':
            headers = dict(arg['headers'])
            # values JSON cannot carry, as py-amqp writes them: 'T' timestamp, 'D' decimal
            headers['when'] = datetime.datetime(2026, 1, 2, 3, 4, 5)
            headers['price'] = decimal.Decimal('12.34')
            m = amqp.Message(b'[[], {}, {}]', content_type='application/json', content_encoding='utf-8', application_headers=headers, delivery_mode=2)
            ch.basic_publish(m, exchange='', routing_key=arg['queue'])
            print(json.dumps('ok'))
        elif command == 'declare':
            ch.queue_declare(arg['queue'], durable=True, auto_delete=False, arguments=arg.get('arguments') or None)
            print(json.dumps('ok'))
    finally:
        conn.close()


main()
