"""Indexes for the retention prune of django-oauth-toolkit's tables (services.oauth_tokens_prune,
redeemed_codes_prune): each run selects the expired access tokens, ID tokens and codes by
`expires` and the refresh tokens revoked long ago or live without an access token, none of which
the toolkit indexes, so at national scale every run was a scan of the whole table.

The tables are the toolkit's (a third-party app), so the indexes are plain SQL here, in the app
that owns the prune, not fields of its models. On PostgreSQL they are built CONCURRENTLY, which
writes go on beside and which cannot run in a transaction (atomic = False); IF NOT EXISTS lets a
build that was interrupted, or an index an operator made by hand under the same name, be taken
as is. The prune's joins (a refresh token's access token, an access token's ID token: one-to-one
columns) already have their unique indexes.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

# (index, table, columns, predicate): the toolkit's own tables (its OAUTH2_PROVIDER_*_MODEL
# settings keep them). Each answers one rule of the prune; the refresh tokens' are partial, as
# most rows are live and the prune wants the few that are not.
INDEXES = (
    ("hawiya_oauth_accesstoken_expires", "oauth2_provider_accesstoken", ("expires",), ""),
    ("hawiya_oauth_idtoken_expires", "oauth2_provider_idtoken", ("expires",), ""),
    ("hawiya_oauth_grant_expires", "oauth2_provider_grant", ("expires",), ""),
    # Revoked longer ago than the refresh lifetime: a range on `revoked`.
    (
        "hawiya_oauth_refreshtoken_revoked",
        "oauth2_provider_refreshtoken",
        ("revoked",),
        '"revoked" IS NOT NULL',
    ),
    # Live but without an access token (orphans): the rows themselves, found without a scan.
    (
        "hawiya_oauth_refreshtoken_orphans",
        "oauth2_provider_refreshtoken",
        ("id",),
        '"revoked" IS NULL AND "access_token_id" IS NULL',
    ),
)


class IndexForThePrune(migrations.RunSQL):
    """CREATE INDEX, CONCURRENTLY on PostgreSQL; DROP INDEX back."""

    def __init__(self, name: str, table: str, columns: tuple[str, ...], where: str) -> None:
        self.index, self.table, self.columns, self.where = name, table, columns, where
        super().__init__(sql=self._create(""), reverse_sql=self._drop(""))

    def _create(self, concurrently: str) -> str:
        columns = ", ".join(f'"{column}"' for column in self.columns)
        where = f" WHERE {self.where}" if self.where else ""
        return f'CREATE INDEX{concurrently} IF NOT EXISTS "{self.index}" ON "{self.table}" ({columns}){where}'

    def _drop(self, concurrently: str) -> str:
        return f'DROP INDEX{concurrently} IF EXISTS "{self.index}"'

    @staticmethod
    def _concurrently(schema_editor: Any) -> str:
        return " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        self.sql = self._create(self._concurrently(schema_editor))
        super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        self.reverse_sql = self._drop(self._concurrently(schema_editor))
        super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("identity", "0015_redeemed_code_token_family"),
        ("oauth2_provider", "0022_refreshtoken_token_family_index"),
    ]

    operations = [IndexForThePrune(*index) for index in INDEXES]
