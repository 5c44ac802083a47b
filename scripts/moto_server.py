"""The local AWS emulator for the demo and the tests: moto's server, one request at a time.

moto's own server handles requests on parallel threads without a lock, so two concurrent
DynamoDB transactions can interleave inside moto (and a cancelled one restores a snapshot of the
whole table, erasing the other's write). DynamoDB itself is linearisable per item; so that the
tests of concurrent deliveries measure our code and not the emulator, this wrapper serialises
requests: clients still send them concurrently, moto applies them one after the other.

It also enforces three DynamoDB limits moto lets pass, so that a test meets them as the function
would on AWS: an item is at most 400 KB (moto checks neither whole items put at once nor items
grown by an update of a nested attribute), a partition key at most 2,048 bytes (moto checks
it on writes only), and a transaction at most 4 MB.

And it makes moto's undo cheap: moto copies every table a transaction touches before applying
it (and the item-size check above did the same for each update), which makes each write cost
as much as the table is large; here only the items written are copied, and put back when the
write is refused. Requests being applied one at a time, nothing else sees the difference.

Usage: python scripts/moto_server.py PORT
"""

import copy
import signal
import sys
import threading

from moto.dynamodb.exceptions import ItemSizeTooLarge, ItemSizeToUpdateTooLarge, MockValidationException
from moto.dynamodb import models as moto_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

ITEM_LIMIT = 400 * 1024
KEY_LIMIT = 2048
TRANSACTION_LIMIT = 4 * 1024 * 1024


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
        before = snapshot(self, table_name, key)
        item = update_item(self, table_name, key, *args, **kwargs)
        if item is not None and item.size() > ITEM_LIMIT:
            restore(self, [before])  # undo: DynamoDB refuses the update whole
            raise ItemSizeToUpdateTooLarge()
        return item

    def limited_get_item(self, table_name, keys, *args, **kwargs):
        check_key(keys)
        return get_item(self, table_name, keys, *args, **kwargs)

    transact_write_items = DynamoDBBackend.transact_write_items

    def undone_transact_write_items(self, transact_items):
        size = 0
        for operation in transact_items:
            _, op = next(iter(operation.items()))
            size += attributes_size(op.get("Item") or {}) + attributes_size(op.get("ExpressionAttributeValues") or {})
        if size > TRANSACTION_LIMIT:
            raise MockValidationException("Transaction request cannot be larger than 4 MB")
        befores = [snapshot(self, *touched(self, operation)) for operation in transact_items]
        try:
            return transact_write_items(self, transact_items)
        except Exception:
            restore(self, befores)
            raise

    DynamoDBBackend.put_item = limited_put_item
    DynamoDBBackend.update_item = limited_update_item
    DynamoDBBackend.get_item = limited_get_item
    DynamoDBBackend.transact_write_items = undone_transact_write_items
    # moto's own undo copies whole tables: the snapshots above replace it.
    moto_models.copy = NoTableCopies()


class NoTableCopies:
    """moto's `copy` module as its transactions see it: a table "copied" is the table itself."""

    @staticmethod
    def deepcopy(value, *args, **kwargs):
        return value if isinstance(value, Table) else copy.deepcopy(value, *args, **kwargs)


def touched(backend, operation):
    """The table and key an operation of a transaction writes."""
    _, op = next(iter(operation.items()))
    table_name = op.get("TableName")
    if "Item" not in op:
        return table_name, op.get("Key") or {}
    table = backend.get_table(table_name)
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return table_name, key


def snapshot(backend, table_name, key):
    """An item as it is now (None when absent), to put back if a write is refused."""
    try:
        current = backend.get_item(table_name, key)
    except Exception:
        current = None
    return table_name, key, copy.deepcopy(current.to_json()["Attributes"]) if current is not None else None


def restore(backend, befores):
    for table_name, key, attributes in reversed(befores):
        if table_name not in backend.tables:
            continue
        table = backend.get_table(table_name)
        hash_value = DynamoType(key[table.hash_key_attr]) if table.hash_key_attr in key else None
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
        if hash_value is None:
            continue
        if attributes is None:
            table.delete_item(hash_value, range_value)
        else:
            table.put_item(attributes)


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
