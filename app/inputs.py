"""What a request may carry before any view sees it: ids in URLs bounded to what the database can
hold, and bodies that fail to parse in any way answered 400, never 500."""
from __future__ import annotations

from flask import Request
from werkzeug.routing import IntegerConverter, ValidationError

# PostgreSQL `integer` (every primary key here); SQLite takes the same range without complaint.
MAX_DATABASE_ID = 2**31 - 1


class DatabaseIdConverter(IntegerConverter):
    """`<int:…>` bounded to 1..2^31-1: a larger id matches no route (404), so it never reaches
    PostgreSQL, which would refuse it as out of range (a 500 before)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None, signed: bool = False):
        super().__init__(map, fixed_digits, min, MAX_DATABASE_ID if max is None else max, signed)

    def to_python(self, value: str):
        if len(value.lstrip("-")) > len(str(MAX_DATABASE_ID)):
            raise ValidationError()  # before int(): a 5,000-digit id costs nothing
        return super().to_python(value)


class BodyParsingRequest(Request):
    """JSON bodies that break the parser itself (100,000 nested brackets: RecursionError, not the
    ValueError Werkzeug expects) answer 400 `invalid_json`, signed in or not, silent or not."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except (RecursionError, MemoryError, TypeError, UnicodeError, OverflowError) as exc:
            from app.errors import APIError

            raise APIError(400, "invalid_json", "The request body is not JSON this server can read "
                           "(too deeply nested or malformed).") from exc


def init_inputs(app) -> None:
    """Before any blueprint is registered: rules compile their converters when added."""
    app.request_class = BodyParsingRequest
    app.url_map.converters["int"] = DatabaseIdConverter
