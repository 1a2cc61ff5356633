"""The object catalogue can carry default fields and a filter for each object."""

import json

import pytest

from intacct_sync.errors import SettingsError
from intacct_sync.objects import Catalogue


def test_catalogue_entries_carry_fields_and_a_normalised_filter():
    catalogue = Catalogue.from_json(
        json.dumps(
            [
                {
                    "object": "customer",
                    "fields": ["recordno", "NAME"],
                    "filter": {"field": "STATUS", "op": "equalto", "value": "active"},
                },
                "VENDOR",
            ]
        )
    )
    customer = catalogue.get("CUSTOMER")
    assert customer.fields == ("RECORDNO", "NAME")
    assert customer.filter == {"field": "STATUS", "op": "equalto", "value": "active"}
    assert catalogue.get("vendor").fields == () and catalogue.get("vendor").filter is None


@pytest.mark.parametrize(
    "item",
    [
        {"object": "CUSTOMER", "fields": "NAME"},
        {"object": "CUSTOMER", "fields": ["NA ME"]},
        {"object": "CUSTOMER", "filter": {"field": "STATUS", "op": "drop table", "value": "x"}},
        {"object": "CUSTOMER", "filter": ["not", "a", "filter"]},
    ],
)
def test_bad_fields_or_filters_are_refused_at_cold_start(item):
    with pytest.raises(SettingsError, match="fields or filter"):
        Catalogue.from_json(json.dumps([item]))
