"""The local AWS emulator for the demo and the tests: moto's server, one request at a time.

moto's own server handles requests on parallel threads without a lock, so two concurrent
DynamoDB transactions can interleave inside moto (and a cancelled one restores a snapshot of the
whole table, erasing the other's write). DynamoDB itself is linearisable per item; so that the
tests of concurrent deliveries measure our code and not the emulator, this wrapper serialises
requests: clients still send them concurrently, moto applies them one after the other.

Usage: python scripts/moto_server.py PORT
"""

import signal
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


class OneAtATime:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            # Materialise the body inside the lock: moto computes it lazily in some services.
            return list(self.app(environ, start_response))


def main() -> None:
    port = int(sys.argv[1])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, OneAtATime(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
