"""Field definitions of the simulated objects (what ``lookup`` reports and what queries may name)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldSpec:
    """One queryable field. ``datatype`` uses Intacct's lookup names (TEXT, INTEGER, DECIMAL, ...)."""

    name: str
    label: str
    datatype: str
    readonly: bool = False
    required: bool = False
    custom: bool = False
    description: str = ""
    valid_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class ObjectSpec:
    """An object: its name, its fields in lookup order, and whether entity scoping applies."""

    name: str
    fields: tuple[FieldSpec, ...]
    entity_scoped: bool = True

    def field(self, name: str) -> FieldSpec | None:
        """Find a field case-insensitively."""
        return _FIELD_INDEX[self.name].get(name.upper())


def _f(
    name: str,
    label: str,
    datatype: str = "TEXT",
    *,
    readonly: bool = False,
    required: bool = False,
    custom: bool = False,
    description: str = "",
    valid_values: tuple[str, ...] = (),
) -> FieldSpec:
    return FieldSpec(name, label, datatype, readonly, required, custom, description, valid_values)


_STATUS = _f("STATUS", "Status", "ENUM", valid_values=("active", "inactive"))
_AUDIT = (
    _f(
        "WHENCREATED",
        "When created",
        "TIMESTAMP",
        readonly=True,
        description="timestamp marking last time this was created.",
    ),
    _f(
        "WHENMODIFIED",
        "When modified",
        "TIMESTAMP",
        readonly=True,
        description="timestamp marking last time this was changed.",
    ),
    _f("CREATEDBY", "Created by", "INTEGER", readonly=True, description="User who created this."),
    _f("MODIFIEDBY", "Modified by", "INTEGER", readonly=True, description="User who modified this."),
)
_RECORDNO = _f("RECORDNO", "Record number", "INTEGER", readonly=True)
_MEGA = (
    _f("MEGAENTITYKEY", "Created at - Entity key", "INTEGER", readonly=True),
    _f("MEGAENTITYID", "Created at - Entity ID", readonly=True),
    _f("MEGAENTITYNAME", "Created at - Entity name", readonly=True),
)


def _contact(prefix: str, extended: bool) -> tuple[FieldSpec, ...]:
    fields = [
        _f(f"{prefix}.CONTACTNAME", "Contact name"),
        _f(f"{prefix}.PRINTAS", "Print as"),
        _f(f"{prefix}.COMPANYNAME", "Company name"),
        _f(f"{prefix}.FIRSTNAME", "First name"),
        _f(f"{prefix}.LASTNAME", "Last name"),
    ]
    if extended:
        fields.append(_f(f"{prefix}.INITIAL", "Middle name"))
    fields += [
        _f(f"{prefix}.PHONE1", "Primary phone"),
        _f(f"{prefix}.PHONE2", "Secondary phone"),
        _f(f"{prefix}.EMAIL1", "Primary email address"),
        _f(f"{prefix}.EMAIL2", "Secondary email address"),
        _f(f"{prefix}.MAILADDRESS.ADDRESS1", "Address line 1"),
        _f(f"{prefix}.MAILADDRESS.ADDRESS2", "Address line 2"),
        _f(f"{prefix}.MAILADDRESS.CITY", "City"),
        _f(f"{prefix}.MAILADDRESS.STATE", "State/Province"),
        _f(f"{prefix}.MAILADDRESS.ZIP", "Zip/Postal code"),
        _f(f"{prefix}.MAILADDRESS.COUNTRY", "Country"),
        _f(f"{prefix}.MAILADDRESS.ISOCOUNTRYCODE", "ISO country code"),
    ]
    return tuple(fields)


_BOOL = ("true", "false")

CUSTOMER = ObjectSpec(
    "CUSTOMER",
    (
        _RECORDNO,
        _f("CUSTOMERID", "Customer ID", required=True),
        _f("NAME", "Customer name", required=True),
        _f("ENTITY", "Entity"),
        _f("PARENTKEY", "Parent key", "INTEGER"),
        _f("PARENTID", "Parent customer ID"),
        _f("PARENTNAME", "Parent customer name"),
        _f("CUSTTYPE", "Customer type"),
        _f("CUSTREPID", "Sales rep ID"),
        _f("CUSTREPNAME", "Sales rep name"),
        _f("TERMNAME", "Term"),
        _f("TERRITORYID", "Territory"),
        _f("GLGRPKEY", "GL group key", "INTEGER"),
        _f("GLGROUP", "GL group"),
        _f("TOTALDUE", "Total due", "CURRENCY", readonly=True),
        _f("CREDITLIMIT", "Credit limit", "CURRENCY"),
        _f("CURRENCY", "Default currency"),
        _f("TAXID", "Tax ID"),
        _f("RESALENO", "Resale number"),
        _f("COMMENTS", "Comments"),
        _STATUS,
        _f("ONETIME", "One-time use", "BOOLEAN", valid_values=_BOOL),
        _f("ONHOLD", "On hold", "BOOLEAN", valid_values=_BOOL),
        _f(
            "OBJECTRESTRICTION",
            "Restriction type",
            "ENUM",
            valid_values=("Unrestricted", "RootOnly", "Restricted"),
        ),
        *_contact("DISPLAYCONTACT", extended=False),
        *_MEGA,
        *_AUDIT,
        _f(
            "CUSTOMER_HEALTH",
            "Customer health",
            "ENUM",
            custom=True,
            valid_values=("Good", "At risk", "Churned"),
        ),
    ),
)

VENDOR = ObjectSpec(
    "VENDOR",
    (
        _RECORDNO,
        _f("VENDORID", "Vendor ID", required=True),
        _f("NAME", "Vendor name", required=True),
        _f("PARENTKEY", "Parent key", "INTEGER"),
        _f("PARENTID", "Parent vendor ID"),
        _f("PARENTNAME", "Parent vendor name"),
        *_contact("DISPLAYCONTACT", extended=True),
        _f("VENDORACCOUNTNO", "Vendor account number"),
        _f("VENDTYPE", "Vendor type"),
        _f("ACCOUNTLABEL", "AP account label"),
        _f("APACCOUNT", "Default AP account"),
        _f("APACCOUNTTITLE", "AP account title"),
        _f("TERMNAME", "Term"),
        _f("TOTALDUE", "Total due", "CURRENCY", readonly=True),
        _f("CREDITLIMIT", "Credit limit", "CURRENCY"),
        _f("CURRENCY", "Default currency"),
        _f("TAXID", "Tax ID"),
        _f("COMMENTS", "Comments"),
        _STATUS,
        _f("ONETIME", "One-time use", "BOOLEAN", valid_values=_BOOL),
        _f("ONHOLD", "On hold", "BOOLEAN", valid_values=_BOOL),
        *_MEGA,
        *_AUDIT,
    ),
)

GLACCOUNT = ObjectSpec(
    "GLACCOUNT",
    (
        _RECORDNO,
        _f("ACCOUNTNO", "Account number", required=True),
        _f("TITLE", "Title", required=True),
        _f("ACCOUNTTYPE", "Account type", "ENUM", valid_values=("balancesheet", "incomestatement")),
        _f("NORMALBALANCE", "Normal balance", "ENUM", valid_values=("debit", "credit")),
        _f(
            "CLOSINGTYPE",
            "Period end closing type",
            "ENUM",
            valid_values=("non-closing account", "closing account"),
        ),
        _f("CLOSINGACCOUNTNO", "Close into account"),
        _f("CATEGORY", "Category"),
        _f(
            "ALTERNATIVEACCOUNT",
            "GL account alternative",
            "ENUM",
            valid_values=("None", "Payables account", "Receivables account"),
        ),
        _f("REQUIREDEPT", "Require department", "BOOLEAN", valid_values=_BOOL),
        _f("REQUIRELOC", "Require location", "BOOLEAN", valid_values=_BOOL),
        _f("TAXABLE", "Taxable", "BOOLEAN", valid_values=_BOOL),
        _STATUS,
        *_MEGA,
        *_AUDIT,
    ),
)

AUDITHISTORY = ObjectSpec(
    "AUDITHISTORY",
    (
        _RECORDNO,
        _f("OBJECTTYPE", "Object type", readonly=True),
        _f("OBJECTKEY", "Object key", readonly=True),
        _f("ACCESSMODE", "Access mode", "ENUM", readonly=True, valid_values=("C", "M", "D")),
        _f("ACCESSTIME", "Access time", "TIMESTAMP", readonly=True),
        _f("USERID", "User ID", readonly=True),
        _f("WORKFLOWACTION", "Workflow action", readonly=True),
        _STATUS,
        *_AUDIT,
    ),
    entity_scoped=False,
)

# The fields the official "Users" page documents for USERINFO (developer.intacct.com/api/company-console/
# users/: lookup/query/create examples and the USERINFO table), plus the audit fields every object has.
USERINFO = ObjectSpec(
    "USERINFO",
    (
        _RECORDNO,
        _f("LOGINID", "User ID", required=True),
        _f("DESCRIPTION", "User name"),
        _f(
            "USERTYPE",
            "User type",
            "ENUM",
            valid_values=("business user", "employee user", "view only user", "platform user"),
        ),
        _f("ADMIN", "Admin privileges", "ENUM", valid_values=("Off", "Limited", "Full")),
        _f("STATUS", "Status", "ENUM", valid_values=("active", "lockedout")),
        _f("LOGINDISABLED", "Web services only", "BOOLEAN", valid_values=_BOOL),
        _f("SSO_ENABLED", "Single sign on enabled", "BOOLEAN", valid_values=_BOOL),
        _f("SSO_FEDERATED_ID", "SSO federated ID"),
        _f("CONTACTINFO.CONTACTNAME", "Contact name"),
        _f("CONTACTINFO.FIRSTNAME", "First name"),
        _f("CONTACTINFO.LASTNAME", "Last name"),
        _f("CONTACTINFO.EMAIL1", "Primary email address"),
        *_AUDIT,
    ),
    entity_scoped=False,
)

OBJECTS: dict[str, ObjectSpec] = {
    spec.name: spec for spec in (CUSTOMER, VENDOR, GLACCOUNT, AUDITHISTORY, USERINFO)
}
_FIELD_INDEX = {spec.name: {f.name.upper(): f for f in spec.fields} for spec in OBJECTS.values()}


def find_object(name: str) -> ObjectSpec | None:
    """Look an object up case-insensitively (Intacct accepts ``customer`` and ``CUSTOMER``)."""
    return OBJECTS.get(name.strip().upper())
