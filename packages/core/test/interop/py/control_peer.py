"""Python Celery 5.2.6 remote control, for the control interop test (Debian's /usr/bin/python3).

  control_peer.py <broker url> ping <destination>
  control_peer.py <broker url> inspect <method> <destination>
  control_peer.py <broker url> revoke <task id> <destination>

Prints the replies as JSON (a list of {node: reply}, or inspect's merged dict).
"""
import json
import sys

from celery import Celery


def main():
    url, command = sys.argv[1], sys.argv[2]
    app = Celery('control_peer', broker=url)
    if command == 'ping':
        replies = app.control.ping(destination=[sys.argv[3]], timeout=5.0)
    elif command == 'inspect':
        method, destination = sys.argv[3], sys.argv[4]
        replies = getattr(app.control.inspect(destination=[destination], timeout=5.0), method)()
    elif command == 'revoke':
        replies = app.control.revoke(sys.argv[3], destination=[sys.argv[4]], reply=True, timeout=5.0)
    else:
        raise SystemExit('unknown command ' + command)
    print(json.dumps(replies), flush=True)


if __name__ == '__main__':
    main()
