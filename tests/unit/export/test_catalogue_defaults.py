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


def test_field_names_keep_their_spelling_and_no_modified_field_means_full_snapshots():
    catalogue = Catalogue.from_json(
        json.dumps(
            [
                {"object": "dimension", "key_field": "id", "modified_field": "updatedAt", "id_field": "name"},
                {"object": "GLACCOUNT", "modified_field": ""},
            ]
        )
    )
    dimension = catalogue.get("DIMENSION")
    assert dimension is not None
    assert (dimension.key_field, dimension.modified_field, dimension.id_field) == ("id", "updatedAt", "name")
    assert dimension.incremental and dimension.created_field == "WHENCREATED"
    glaccount = catalogue.get("GLACCOUNT")
    assert glaccount is not None and glaccount.modified_field == "" and not glaccount.incremental
    assert glaccount.to_dict()["modified_field"] is None


def test_bad_key_field_names_are_refused_at_cold_start():
    with pytest.raises(SettingsError, match="modified_field name 'updated At' is not a valid Intacct name"):
        Catalogue.from_json(json.dumps([{"object": "X", "modified_field": "updated At"}]))
