"""Domain errors raised by the export logic. Each one maps to a clear message for users and state machines."""

from __future__ import annotations


class ExportError(Exception):
    """Base class: something about an export that a user should read."""


class InvalidExportRequest(ExportError, ValueError):
    """The export request (object, fields, filter, page size, mode...) is not valid; nothing was started."""


class SettingsError(ExportError):
    """A function's environment is misconfigured (missing or malformed variable)."""


class ReconciliationError(ExportError):
    """Records written do not match the count Intacct reported: the export must not be trusted."""


class BudgetExceededError(ExportError):
    """The run would take the month's Intacct transactions over the configured budget."""


class CatalogError(ExportError):
    """A Glue table or view of the exports could not be written: the data landed; Athena lags behind."""
