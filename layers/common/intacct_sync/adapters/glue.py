"""The Glue Data Catalog: the tables and views Athena reads the exports with."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from intacct_sync.errors import CatalogError

# The parts of a table that this product sets; anything else Glue adds (dates, owner, versions) is left.
_COMPARED = ("TableType", "Parameters", "PartitionKeys", "ViewOriginalText", "Description")


class GlueCatalog:
    """Creates or updates tables in one Glue database; knows nothing about Intacct."""

    def __init__(self, glue: Any, database: str) -> None:
        self._glue, self.database = glue, database

    def put_table(self, table_input: dict[str, Any]) -> str:
        """Create the table (or view) ``table_input`` describes, or update it when it differs; returns
        "created", "updated" or "unchanged". Updates keep no archived version (``SkipArchive``): views
        are rewritten after every run. Two runs ending at once may both find no table: the one whose
        create loses (AlreadyExistsException) reads the winner's and updates it if it differs. Raises
        CatalogError naming the table."""
        name = table_input["Name"]
        try:
            for _ in range(3):
                try:
                    existing = self._glue.get_table(DatabaseName=self.database, Name=name)["Table"]
                except self._glue.exceptions.EntityNotFoundException:
                    try:
                        self._glue.create_table(DatabaseName=self.database, TableInput=table_input)
                    except self._glue.exceptions.AlreadyExistsException:
                        continue  # created meanwhile by another run's ending: compare with it
                    return "created"
                if _same(existing, table_input):
                    return "unchanged"
                self._glue.update_table(DatabaseName=self.database, TableInput=table_input, SkipArchive=True)
                return "updated"
            raise CatalogError(f"Glue table {self.database}.{name} kept appearing and disappearing")
        except (BotoCoreError, ClientError) as exc:
            raise CatalogError(f"Glue table {self.database}.{name} could not be written: {exc}") from exc


def _same(existing: dict[str, Any], wanted: dict[str, Any]) -> bool:
    for key in _COMPARED:
        if (existing.get(key) or None) != (wanted.get(key) or None):
            return False
    have, want = existing.get("StorageDescriptor") or {}, wanted.get("StorageDescriptor") or {}
    columns = [{"Name": c["Name"], "Type": c["Type"]} for c in have.get("Columns") or []]
    serde = (have.get("SerdeInfo") or {}).get("Parameters") or {}
    return columns == want.get("Columns") and serde == ((want.get("SerdeInfo") or {}).get("Parameters") or {})
