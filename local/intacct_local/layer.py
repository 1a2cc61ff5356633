"""Every name the local tool takes from the Lambda layer (``intacct_sync``), in one place.

The local tool drives the deployed code from outside. It reuses the layer's own request validation (so the
command line refuses exactly what the workflow would) and object catalogue, the state table's progress
reader, which run an execution belongs to (``run_of``; a resume names it under ``RESUME_KEY``), how
executions are followed through the ones a run continues in (``Continued``, for an export and a sync's
objects), the bucket's key layout (which objects a later run reads), a part's summary and the landed parts
(to count what a stopped run landed), the credentials read from the SDKs' environment variables, the shared
logger (to set its level), the tables' schema, the succeeded-runs index and the views' SQL (``intacct-sync
sql`` builds the same tables as Athena), the function settings (to check the ones a user sets before
anything starts), which syncs can be rerun, and how a stopped sync's document is settled. Nothing else.
"""

from __future__ import annotations

from intacct_sync.adapters.executions import ExportExecutions
from intacct_sync.adapters.export_store import ExportStore
from intacct_sync.adapters.state_table import StateTable
from intacct_sync.errors import InvalidExportRequest, SettingsError
from intacct_sync.export import layout
from intacct_sync.export.current import RunIndex, view_names, views
from intacct_sync.export.parts import PartSummary
from intacct_sync.export.payloads import Continued, ObjectSynced
from intacct_sync.export.spec import RESUME_KEY, ExportSpec, run_of, validate_fields, validate_run_id
from intacct_sync.export.summaries import landed_parts
from intacct_sync.export.sync import rerun_refusal
from intacct_sync.export.tables import TableSchema
from intacct_sync.intacct import CredentialsError, credentials_from_env, credentials_mapping
from intacct_sync.objects import Catalogue
from intacct_sync.observability import logger
from intacct_sync.settings import Settings
from intacct_sync.steps.sync_outcome import stop_sync

__all__ = [
    "RESUME_KEY",
    "Catalogue",
    "Continued",
    "CredentialsError",
    "ExportExecutions",
    "ExportSpec",
    "ExportStore",
    "InvalidExportRequest",
    "ObjectSynced",
    "PartSummary",
    "RunIndex",
    "Settings",
    "SettingsError",
    "StateTable",
    "TableSchema",
    "credentials_from_env",
    "credentials_mapping",
    "landed_parts",
    "layout",
    "logger",
    "rerun_refusal",
    "run_of",
    "stop_sync",
    "validate_fields",
    "validate_run_id",
    "view_names",
    "views",
]
