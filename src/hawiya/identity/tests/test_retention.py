"""Retention of identity's own rows that only grow (docs/design.md §9): the hourly code send
quotas, the exchanged authorization codes and django-oauth-toolkit's codes and tokens. Old and dead
rows go; live ones, and those a replay or a sign-out could still need, stay."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import re
import secrets
import uuid
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import AccessToken, Grant, IDToken, RefreshToken
from oauth2_provider.settings import oauth2_settings

from hawiya.audit.actors import Actor
from hawiya.core import clock
from hawiya.core.errors import ApplicationError
from hawiya.core.retention import Batches
from hawiya.identity import errors, throttles
from hawiya.identity.backchannel_logout import parties_to_tell
from hawiya.identity.models import CodeSendQuota, Consent, RedeemedCode, RelyingParty, SecurityEvent, User
from hawiya.identity.selectors import connections_for_user
from hawiya.identity.services import code_send_quotas_prune, relying_parties
from hawiya.identity.services.authorization_codes import (
    code_replayed,
    oauth_tokens_prune,
    redeemed_codes_prune,
)
from hawiya.identity.tests.factories import make_account

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
MARGIN = dt.timedelta(hours=settings.HAWIYA_RETENTION_EXPIRED_HOURS)
REFRESH_LIFE = dt.timedelta(seconds=int(oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS))
ACCESS_LIFE = dt.timedelta(seconds=int(oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS))
CODE_LIFE = dt.timedelta(seconds=int(oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS))
ID_TOKENS_KEPT = dt.timedelta(days=settings.HAWIYA_RETENTION_ID_TOKENS_DAYS)


def _exists(row: Any) -> bool:
    return type(row)._base_manager.filter(pk=row.pk).exists()


# --- Code send quotas ------------------------------------------------------------------------------


def _claim(key: str, now: dt.datetime) -> int:
    with transaction.atomic():
        return throttles.quota_claim(key=key, now=now)


def test_a_send_records_its_time_as_the_newest() -> None:
    now = clock.now()
    _claim("quota-a", now - 30 * dt.timedelta(minutes=1))
    _claim("quota-a", now)

    assert CodeSendQuota.objects.get(key="quota-a").last_send_at == now


def test_a_quota_goes_once_its_newest_send_left_the_hour_and_a_busy_one_stays() -> None:
    now = clock.now()
    _claim("idle", now - 2 * HOUR)
    # Its first send is long gone from the hour, its second is not: it still counts one.
    _claim("busy", now - 2 * HOUR)
    _claim("busy", now - 10 * dt.timedelta(minutes=1))
    CodeSendQuota.objects.create(key="never-sent")

    assert code_send_quotas_prune(now=now) == 2

    assert list(CodeSendQuota.objects.values_list("key", flat=True)) == ["busy"]


def test_a_pruned_quota_is_created_again_and_still_limits() -> None:
    now = clock.now()
    for minutes in range(5):
        _claim("citizen", now - 2 * HOUR + dt.timedelta(minutes=minutes))
    assert code_send_quotas_prune(now=now) == 1

    for sent in range(throttles.CODE_SENDS_PER_HOUR):
        assert _claim("citizen", now) == throttles.CODE_SENDS_PER_HOUR - sent - 1
    with pytest.raises(ApplicationError) as caught:
        _claim("citizen", now)
    assert caught.value.code == errors.TOO_MANY_CODES
    assert code_send_quotas_prune(now=now) == 0


def test_a_send_whose_row_was_pruned_under_it_creates_it_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # The prune deletes the row between the send's insert (which found it there) and its lock.
    now = clock.now()
    _claim("raced", now - 2 * HOUR)
    original = CodeSendQuota.objects.bulk_create
    raced: list[bool] = []

    def bulk_create_then_pruned(objs: Any, **kwargs: Any) -> Any:
        result = original(objs, **kwargs)
        if not raced:
            raced.append(True)
            assert code_send_quotas_prune(now=now) == 1
        return result

    monkeypatch.setattr(CodeSendQuota.objects, "bulk_create", bulk_create_then_pruned)

    assert _claim("raced", now) == throttles.CODE_SENDS_PER_HOUR - 1
    assert CodeSendQuota.objects.get(key="raced").last_send_at == now


def test_the_migration_fills_the_newest_send_from_the_list() -> None:
    migration = importlib.import_module("hawiya.identity.migrations.0014_code_send_quota_last_send")
    newest = clock.now().replace(microsecond=0)
    CodeSendQuota.objects.create(
        key="old-row", recent_sends=[(newest - HOUR).isoformat(), newest.isoformat(), "not a time"]
    )
    CodeSendQuota.objects.create(key="empty-row", recent_sends=[])

    migration.fill_last_send(apps, None)

    assert CodeSendQuota.objects.get(key="old-row").last_send_at == newest
    assert CodeSendQuota.objects.get(key="empty-row").last_send_at is None


# --- Tokens ----------------------------------------------------------------------------------------


def _party(name_en: str = "Example Bank") -> RelyingParty:
    return relying_parties.party_register(
        actor=Actor.system("tests"),
        name_ar="بنك المثال",
        name_en=name_en,
        redirect_uris=["https://bank.example/callback"],
        allowed_scopes=["openid", "profile"],
        token_endpoint_auth_method="client_secret_basic",
        backchannel_logout_uri="https://bank.example/logout",
    ).party


def _access(
    party: RelyingParty, user: User, *, expires: dt.datetime, id_token: IDToken | None = None
) -> AccessToken:
    return AccessToken.objects.create(
        user=user,
        application=party.application,
        token=secrets.token_urlsafe(24),
        expires=expires,
        scope="openid",
        id_token=id_token,
    )


def _refresh(
    party: RelyingParty, user: User, *, access: AccessToken | None, revoked: dt.datetime | None = None
) -> RefreshToken:
    return RefreshToken.objects.create(
        user=user,
        application=party.application,
        token=secrets.token_urlsafe(24),
        access_token=access,
        revoked=revoked,
    )


def _id_token(party: RelyingParty, user: User, *, expires: dt.datetime) -> IDToken:
    return IDToken.objects.create(user=user, application=party.application, expires=expires, scope="openid")


def _grant(party: RelyingParty, user: User, *, expires: dt.datetime) -> Grant:
    return Grant.objects.create(
        user=user,
        application=party.application,
        code=secrets.token_urlsafe(24),
        expires=expires,
        redirect_uri="https://bank.example/callback",
        scope="openid",
        code_challenge="x" * 43,
        code_challenge_method="S256",
    )


def _redeemed(
    party: RelyingParty,
    *,
    at: dt.datetime,
    access: AccessToken | None,
    code: str = "",
    family: uuid.UUID | None = None,
) -> RedeemedCode:
    return RedeemedCode.objects.create(
        code_hash=hashlib.sha256((code or secrets.token_urlsafe(24)).encode()).hexdigest(),
        application=party.application,
        access_token=access,
        token_family=family,
        redeemed_at=at,
    )


def test_dead_tokens_and_codes_go_and_usable_ones_stay() -> None:
    now = clock.now()
    party, user = _party(), make_account()
    # Access tokens without a refresh token: expired past the margin, or not.
    expired_access = _access(party, user, expires=now - MARGIN - HOUR)
    recently_expired_access = _access(party, user, expires=now - HOUR)
    live_access = _access(party, user, expires=now + HOUR)
    # A refresh token still usable: its access token expired, but within the refresh lifetime.
    anchor = _access(party, user, expires=now - REFRESH_LIFE + DAY)
    usable_refresh = _refresh(party, user, access=anchor)
    # A refresh token dormant past its lifetime, and its access token with it.
    dormant_anchor = _access(party, user, expires=now - REFRESH_LIFE - MARGIN - HOUR)
    dormant_refresh = _refresh(party, user, access=dormant_anchor)
    # Revoked (rotated) refresh tokens: kept for reuse detection until their lifetime is over.
    long_revoked = _refresh(party, user, access=None, revoked=now - REFRESH_LIFE - MARGIN - HOUR)
    recently_revoked = _refresh(party, user, access=None, revoked=now - DAY)
    orphan = _refresh(party, user, access=None)
    # ID tokens: kept for an id_token_hint at sign-out, and while their access token is.
    old_id_token = _id_token(party, user, expires=now - ID_TOKENS_KEPT - HOUR)
    recent_id_token = _id_token(party, user, expires=now - DAY)
    anchored_id_token = _id_token(party, user, expires=now - ID_TOKENS_KEPT - HOUR)
    anchored_access = _access(party, user, expires=now - HOUR, id_token=anchored_id_token)
    _refresh(party, user, access=anchored_access)
    # Codes never exchanged.
    expired_grant = _grant(party, user, expires=now - MARGIN - HOUR)
    live_grant = _grant(party, user, expires=now + dt.timedelta(seconds=30))
    # An exchanged code whose token is pruned loses only its reference.
    redeemed = _redeemed(party, at=now - HOUR, access=expired_access)

    counts = oauth_tokens_prune(now=now)

    assert counts == {
        "oauth_refresh_tokens": 3,
        "oauth_access_tokens": 2,
        "oauth_id_tokens": 1,
        "oauth_codes": 1,
    }
    gone = (
        expired_access,
        dormant_anchor,
        dormant_refresh,
        long_revoked,
        orphan,
        old_id_token,
        expired_grant,
    )
    assert not any(_exists(row) for row in gone)
    kept = (
        recently_expired_access,
        live_access,
        anchor,
        usable_refresh,
        recently_revoked,
        recent_id_token,
        anchored_id_token,
        anchored_access,
        live_grant,
    )
    assert all(_exists(row) for row in kept)
    redeemed.refresh_from_db()
    assert redeemed.access_token_id is None
    assert oauth_tokens_prune(now=now) == dict.fromkeys(counts, 0)


def test_the_token_prune_is_bounded_by_its_batches() -> None:
    now = clock.now()
    party, user = _party(), make_account()
    for _ in range(5):
        _access(party, user, expires=now - MARGIN - HOUR)
    limits = Batches(size=2, max_batches=2)

    assert oauth_tokens_prune(now=now, batches=limits)["oauth_access_tokens"] == 4
    assert oauth_tokens_prune(now=now, batches=limits)["oauth_access_tokens"] == 1
    assert not AccessToken.objects.exists()


def test_refresh_tokens_that_never_expire_are_kept_unless_orphaned(settings: Any) -> None:
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "REFRESH_TOKEN_EXPIRE_SECONDS": None}
    now = clock.now()
    party, user = _party(), make_account()
    old_anchor = _access(party, user, expires=now - 3650 * DAY)
    kept = [old_anchor, _refresh(party, user, access=old_anchor)]
    kept.append(_refresh(party, user, access=None, revoked=now - 3650 * DAY))
    orphan = _refresh(party, user, access=None)

    assert oauth_tokens_prune(now=now)["oauth_refresh_tokens"] == 1

    assert not _exists(orphan)
    assert all(_exists(row) for row in kept)


# --- Exchanged codes -------------------------------------------------------------------------------


def test_an_exchanged_code_goes_once_no_token_it_gave_can_be_used() -> None:
    now = clock.now()
    kept_for = max(CODE_LIFE, ACCESS_LIFE + REFRESH_LIFE) + MARGIN
    party, user = _party(), make_account()
    # Old enough, and its token gone (refreshed, revoked or pruned): a replay can revoke nothing.
    gone_token = _redeemed(party, at=now - kept_for - HOUR, access=None)
    # Old enough, its token expired longer ago than a refresh token lives: nothing can be used.
    dead_token = _redeemed(
        party,
        at=now - kept_for - HOUR,
        access=_access(party, user, expires=now - REFRESH_LIFE - MARGIN - HOUR),
    )
    # Old, but its token can still be refreshed (it expired within the refresh lifetime).
    refreshable = _access(party, user, expires=now - REFRESH_LIFE + DAY)
    _refresh(party, user, access=refreshable)
    still_refreshable = _redeemed(party, at=now - kept_for - HOUR, access=refreshable)
    # Recent: kept for the margin whatever its token.
    recent = _redeemed(party, at=now - kept_for + HOUR, access=None)

    assert redeemed_codes_prune(now=now) == 2

    assert not _exists(gone_token)
    assert not _exists(dead_token)
    assert _exists(still_refreshable)
    assert _exists(recent)


def test_a_kept_exchanged_code_still_revokes_its_tokens_when_replayed() -> None:
    now = clock.now()
    kept_for = ACCESS_LIFE + REFRESH_LIFE + MARGIN
    party, user = _party(), make_account()
    access = _access(party, user, expires=now - REFRESH_LIFE + DAY)
    refresh = _refresh(party, user, access=access)
    _redeemed(party, at=now - kept_for - DAY, access=access, code="the-code")

    redeemed_codes_prune(now=now)
    oauth_tokens_prune(now=now)

    assert code_replayed(code="the-code", application=party.application)
    refresh.refresh_from_db()
    assert refresh.revoked is not None
    assert not _exists(access)


def test_an_exchanged_code_stays_while_its_refresh_family_lives() -> None:
    """Rotation replaced the access token the code gave (the reference is empty), but a refresh
    token of its family is live: a replay still has it to revoke."""
    now = clock.now()
    kept_for = max(CODE_LIFE, ACCESS_LIFE + REFRESH_LIFE) + MARGIN
    party, user = _party(), make_account()
    family = uuid.uuid4()
    rotated = _access(party, user, expires=now + HOUR)
    live = _refresh(party, user, access=rotated)
    RefreshToken.objects.filter(pk=live.pk).update(token_family=family)
    living = _redeemed(party, at=now - kept_for - HOUR, access=None, family=family)
    ended = _redeemed(party, at=now - kept_for - HOUR, access=None, family=uuid.uuid4())

    assert redeemed_codes_prune(now=now) == 1

    assert _exists(living)
    assert not _exists(ended)


# --- What the citizen's pages read ------------------------------------------------------------------


def test_a_connection_keeps_its_last_sign_in_and_its_logout_once_its_tokens_are_pruned() -> None:
    now = clock.now()
    party, user = _party(), make_account()
    Consent.objects.create(user=user, party=party, scopes=["openid"])
    signed_in_at = now - 90 * DAY
    SecurityEvent.objects.create(
        user=user, kind=SecurityEvent.Kind.PARTY_SIGN_IN, occurred_at=signed_in_at, detail=str(party.pk)
    )
    anchor = _access(party, user, expires=signed_in_at + ACCESS_LIFE)
    _refresh(party, user, access=anchor)

    oauth_tokens_prune(now=now)

    assert not AccessToken.objects.filter(user=user).exists()
    [connection] = connections_for_user(user=user)
    assert connection.last_signed_in_at == signed_in_at
    assert [p.pk for p in parties_to_tell(user)] == [party.pk]


# --- The token prune's indexes (migration identity/0016) -----------------------------------------

PRUNE_INDEXES = {
    "oauth2_provider_accesstoken": ("hawiya_oauth_accesstoken_expires",),
    "oauth2_provider_idtoken": ("hawiya_oauth_idtoken_expires",),
    "oauth2_provider_grant": ("hawiya_oauth_grant_expires",),
    "oauth2_provider_refreshtoken": (
        "hawiya_oauth_refreshtoken_revoked",
        "hawiya_oauth_refreshtoken_orphans",
    ),
}
# Partial indexes whose condition is the whole rule: read without a further condition.
EXACT_INDEXES = ("hawiya_oauth_refreshtoken_orphans",)
LIVE_ROWS = 300
INDEX_SCAN = re.compile(r"(?:Index (?:Only )?Scan using|Bitmap Index Scan on) (\w+)")


def test_the_token_tables_have_the_prune_indexes() -> None:
    with connection.cursor() as cursor:
        for table, indexes in PRUNE_INDEXES.items():
            for index in indexes:
                assert index in connection.introspection.get_constraints(cursor, table), (table, index)


def _prune_selects(now: dt.datetime) -> list[str]:
    """The SQL of each batch's candidate select of the token prune (delete_in_batches), with one
    row of every kind to delete so that each one runs."""
    party, user = _party(), make_account()
    dormant = _access(party, user, expires=now - REFRESH_LIFE - MARGIN - HOUR)
    _refresh(party, user, access=dormant)
    _refresh(party, user, access=None, revoked=now - REFRESH_LIFE - MARGIN - HOUR)
    _refresh(party, user, access=None)
    _access(party, user, expires=now - MARGIN - HOUR)
    _id_token(party, user, expires=now - ID_TOKENS_KEPT - HOUR)
    _grant(party, user, expires=now - MARGIN - HOUR)
    # And what a national table is mostly made of: live codes and tokens, each access token with
    # its ID token and refresh token.
    app, later = party.application, now + HOUR
    Grant.objects.bulk_create(
        Grant(
            user=user,
            application=app,
            code=secrets.token_urlsafe(24),
            expires=later,
            redirect_uri="https://bank.example/callback",
            scope="openid",
        )
        for _ in range(LIVE_ROWS)
    )
    ids = IDToken.objects.bulk_create(
        IDToken(user=user, application=app, expires=later, scope="openid") for _ in range(LIVE_ROWS)
    )
    live = AccessToken.objects.bulk_create(
        AccessToken(
            user=user, application=app, token=secrets.token_urlsafe(24), expires=later, id_token=id_token
        )
        for id_token in ids
    )
    RefreshToken.objects.bulk_create(
        RefreshToken(user=user, application=app, token=secrets.token_urlsafe(24), access_token=access)
        for access in live
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in PRUNE_INDEXES:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    with CaptureQueriesContext(connection) as queries:
        oauth_tokens_prune(now=now)
    return [query["sql"] for query in queries.captured_queries if "SKIP LOCKED" in query["sql"]]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans (EXPLAIN)")
def test_every_select_of_the_token_prune_is_answered_by_an_index() -> None:
    selects = _prune_selects(clock.now())
    plans: dict[str, list[str]] = {table: [] for table in PRUNE_INDEXES}
    with connection.cursor() as cursor:
        # A few rows: left to itself the planner rightly reads the whole (tiny) table, or hashes one
        # side of a join. Made to use indexes, it can only use those that answer the conditions.
        for method in ("seqscan", "hashjoin", "mergejoin"):
            cursor.execute(f"SET LOCAL enable_{method} = off")
        for sql in selects:
            found = re.search(r'FROM "(oauth2_provider_\w+)"', sql)
            assert found is not None, sql
            cursor.execute(f"EXPLAIN {sql}")
            plans[found.group(1)].append("\n".join(row[0] for row in cursor.fetchall()))
    for table, indexes in PRUNE_INDEXES.items():
        assert plans[table], f"no select of {table}"
        for plan in plans[table]:
            lines = plan.splitlines()
            assert "Seq Scan" not in plan, plan
            # No index read whole: every index scan has its condition, or is an exact partial one.
            for number, line in enumerate(lines):
                scan = INDEX_SCAN.search(line)
                if scan and scan.group(1) not in EXACT_INDEXES:
                    assert "Index Cond:" in lines[number + 1], plan
            # Nor one that only says "live" (most of the refresh tokens).
            assert "Index Cond: (revoked IS NULL)" not in plan, plan
        for index in indexes:
            assert any(index in plan for plan in plans[table]), (index, plans[table])


def test_makemigrations_has_nothing_to_add() -> None:
    # The indexes are SQL on the toolkit's tables, not fields: no model change, no migration due.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
