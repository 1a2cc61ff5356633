"""Every name the local tool takes from the Lambda layer (``intacct_sync``), in one place.

The local tool drives the deployed code from outside. It reuses the layer's own request validation (so
the command line refuses exactly what the workflow would) and object catalogue, the state table's
progress reader, how executions are followed through the ones a run continues in (``Continued``, for an
export and a sync's objects), the bucket's key layout (which objects a later run reads), a part's
summary (to count what a stopped run landed), the credentials read from the SDKs' environment
variables, the shared logger (to set its level), and the tables' schema, the succeeded-runs index and
the views' SQL (``intacct-sync sql`` builds the same tables as Athena). Nothing else.
"""

from __future__ import annotations

from intacct_sync.adapters.executions import ExportExecutions
from intacct_sync.adapters.state_table import StateTable
from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export import layout
from intacct_sync.export.current import RunIndex, view_names, views
from intacct_sync.export.parts import PartSummary
from intacct_sync.export.payloads import Continued
from intacct_sync.export.spec import ExportSpec, validate_fields
from intacct_sync.export.tables import TableSchema
from intacct_sync.intacct import CredentialsError, credentials_from_env, credentials_mapping
from intacct_sync.objects import Catalogue
from intacct_sync.observability import logger

__all__ = [
    "Catalogue",
    "Continued",
    "CredentialsError",
    "ExportExecutions",
    "ExportSpec",
    "InvalidExportRequest",
    "PartSummary",
    "RunIndex",
    "StateTable",
    "TableSchema",
    "credentials_from_env",
    "credentials_mapping",
    "layout",
    "logger",
    "validate_fields",
    "view_names",
    "views",
]
