"""Path converters for the product's URLs.

``<id:...>`` is Django's ``<int:...>`` limited to the ids a row can have: the tables' keys are
64-bit integers, so a larger number in a link names no row and is "page not found" (404)
before any query, instead of a database error ("bigint out of range", a 500).
"""

from __future__ import annotations

from django.urls import converters, register_converter

LARGEST_ID = 2**63 - 1


class IdConverter(converters.IntConverter):
    # At most 19 digits: the regex alone keeps a number of thousands of digits from being parsed.
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > LARGEST_ID:
            raise ValueError(f"{value} is past the largest id")
        return number


register_converter(IdConverter, "id")
