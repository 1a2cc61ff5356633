"""One field-name rule: a request's and the catalogue's key, modified, created and id fields are checked
with the rule the field list and filters use (``intacct.check_field_name``), as fields of the object itself
(no dotted related field: docs/intacct/PROTOCOL.md §3 documents dots for select and filter only), and are
kept as spelled in both."""

import json

import pytest

from intacct_sync.errors import InvalidExportRequest, SettingsError
from intacct_sync.export.keyfields import ROLES
from intacct_sync.export.spec import ExportSpec
from intacct_sync.intacct import InvalidQueryError, check_field_name
from intacct_sync.objects import Catalogue

OWN_NAMES = ["DEPT#", "LIABACCT#", "updatedAt", "id", "WHENMODIFIED", "Custom_Field_1"]
RELATED = "CUSTOMER.NAME"
NOT_NAMES = ["#DEPT", "DE PT", "1X", "X</field>", "X.", "UPDATEDAT\n"]


def _catalogued(role: str, name: str):
    return Catalogue.from_json(json.dumps([{"object": "X", role: name}])).get("X")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", OWN_NAMES)
def test_a_field_name_valid_in_the_field_list_is_valid_for_every_role_and_kept_as_spelled(role, name):
    # Given a name the field list and filters accept
    assert ExportSpec.from_payload({"object": "X", "fields": [name]}).fields == (name.upper(),)
    assert ExportSpec.from_payload({"object": "X", "filter": {"field": name, "op": "isnull"}}).filter
    # When a request or the catalogue names it as a key, modified, created or id field
    requested = ExportSpec.from_payload({"object": "X", role: name})
    catalogued = _catalogued(role, name)
    # Then both accept it, spelled as given (a request no longer upper-cases it)
    assert getattr(requested, role) == name
    assert catalogued is not None and getattr(catalogued, role) == name


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", NOT_NAMES)
def test_a_name_refused_as_a_field_is_refused_for_every_role_by_both(role, name):
    with pytest.raises(InvalidQueryError):
        check_field_name(name)
    with pytest.raises(InvalidExportRequest, match=f"{role} name .* is not a valid Intacct name"):
        ExportSpec.from_payload({"object": "X", role: name})
    with pytest.raises(SettingsError, match=f"item 0 {role} name .* is not a valid Intacct name"):
        _catalogued(role, name)


@pytest.mark.parametrize("role", ROLES)
def test_a_related_field_selects_and_filters_but_keys_windows_and_names_nothing(role):
    # Given a dotted related field: valid in the field list and in a filter
    assert ExportSpec.from_payload({"object": "X", "fields": [RELATED]}).fields == (RELATED,)
    assert ExportSpec.from_payload({"object": "X", "filter": {"field": RELATED, "op": "isnull"}}).filter
    # When it is named as a key, modified, created or id field, Then the request and the catalogue refuse
    # it alike: its value is the related record's (repeated across records, changed when that one is)
    with pytest.raises(InvalidExportRequest, match=f"{role} 'CUSTOMER.NAME' must be a field of the object"):
        ExportSpec.from_payload({"object": "X", role: RELATED})
    with pytest.raises(SettingsError, match=f"item 0 {role} 'CUSTOMER.NAME' must be a field of the object"):
        _catalogued(role, RELATED)


def test_the_object_itself_rule_is_the_field_rule_without_dots():
    for name in OWN_NAMES:
        assert check_field_name(name, related=False) == name
    with pytest.raises(InvalidQueryError, match="not of a related object"):
        check_field_name(RELATED, "key_field", related=False)
