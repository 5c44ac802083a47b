"""The local AWS emulator for the demo and the tests: moto's server, one request at a time.

moto's own server handles requests on parallel threads without a lock, so two concurrent
DynamoDB transactions can interleave inside moto (and a cancelled one restores a snapshot of the
whole table, erasing the other's write). DynamoDB itself is linearisable per item; so that the
tests of concurrent deliveries measure our code and not the emulator, this wrapper serialises
requests: clients still send them concurrently, moto applies them one after the other.

It also enforces two DynamoDB limits moto lets pass, so that a test meets them as the function
would on AWS: an item is at most 400 KB (moto checks neither whole items put at once nor items
grown by an update of a nested attribute), and a partition key at most 2,048 bytes (moto checks
it on writes only).

Usage: python scripts/moto_server.py PORT
"""

import copy
import signal
import sys
import threading

from moto.dynamodb.exceptions import ItemSizeTooLarge, ItemSizeToUpdateTooLarge, MockValidationException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

ITEM_LIMIT = 400 * 1024
KEY_LIMIT = 2048


def attributes_size(attributes: dict) -> int:
    """An item's size as DynamoDB counts it: names and values (wire-format attribute values)."""
    return sum(len(name.encode()) + DynamoType(value).size() for name, value in attributes.items())


def check_key(key: dict) -> None:
    for value in key.values():
        if DynamoType(value).size() > KEY_LIMIT:
            raise MockValidationException(
                "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of 2048 bytes"
            )


def enforce_dynamodb_limits() -> None:
    put_item, update_item, get_item = DynamoDBBackend.put_item, DynamoDBBackend.update_item, DynamoDBBackend.get_item

    def limited_put_item(self, table_name, item_attrs, *args, **kwargs):
        if attributes_size(item_attrs) > ITEM_LIMIT:
            raise ItemSizeTooLarge()
        return put_item(self, table_name, item_attrs, *args, **kwargs)

    def limited_update_item(self, table_name, key, *args, **kwargs):
        check_key(key)
        before = copy.deepcopy(self.tables[table_name]) if table_name in self.tables else None
        item = update_item(self, table_name, key, *args, **kwargs)
        if item is not None and item.size() > ITEM_LIMIT:
            self.tables[table_name] = before  # undo: DynamoDB refuses the update whole
            raise ItemSizeToUpdateTooLarge()
        return item

    def limited_get_item(self, table_name, keys, *args, **kwargs):
        check_key(keys)
        return get_item(self, table_name, keys, *args, **kwargs)

    DynamoDBBackend.put_item = limited_put_item
    DynamoDBBackend.update_item = limited_update_item
    DynamoDBBackend.get_item = limited_get_item


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
    enforce_dynamodb_limits()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, OneAtATime(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
