"""Reads of the civil register."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.search import TrigramStrictWordSimilarity, TrigramWordSimilarity
from django.core.exceptions import ValidationError
from django.db import OperationalError, connections
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Length
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.statement_limit import statement_time_limit, timed_out

from . import errors
from .id_numbers import normalise_id_number, parse_id_number, validate_id_number
from .models import (
    BiometricCapture,
    CivilFine,
    Document,
    DocumentKind,
    DocumentStatus,
    NameWord,
    Office,
    Person,
)
from .name_search import search_tokens


def person_get_by_id_number(id_number: str) -> Person:
    """The person with this ID number, typed in any form (Eastern digits, spaces, hyphens).

    Raises ApplicationError `id_number_invalid` (with the validator's message) for a number that
    cannot exist, and NotFound `person_not_found` for a valid one that is not in the register.
    """
    try:
        number = parse_id_number(id_number)
    except ValidationError as exc:
        raise ApplicationError(errors.ID_NUMBER_INVALID, exc.messages[0], field="id_number") from exc
    try:
        return Person.objects.get(id_number=number)
    except Person.DoesNotExist:
        raise NotFound(
            errors.PERSON_NOT_FOUND, _("No person with this ID number is in the register.")
        ) from None


def document_history(document: Document) -> list[Document]:
    """Every version in the document's chain, oldest first, with their issuing offices.

    All versions of a chain share the holder and the kind, so one indexed query fetches them;
    the chain is then followed through `replaces` in memory (no query per version).
    """
    versions = {
        version.pk: version
        for version in Document.objects.filter(holder_id=document.holder_id, kind=document.kind)
        .select_related("issuing_office")
        .order_by("version")
    }
    successor = {version.replaces_id: version for version in versions.values() if version.replaces_id}
    first = versions.get(document.pk, document)
    seen = {first.pk}
    # `seen` only guards against a corrupted cycle written outside the services.
    while first.replaces_id is not None and first.replaces_id in versions and first.replaces_id not in seen:
        first = versions[first.replaces_id]
        seen.add(first.pk)
    chain: list[Document] = []
    current: Document | None = first
    while current is not None and current not in chain:
        chain.append(current)
        current = successor.get(current.pk)
    return chain


# The order a person reads their documents in: the card first, then the certificates.
DOCUMENT_ORDER = (
    DocumentKind.NATIONAL_ID_CARD,
    DocumentKind.BIRTH_CERTIFICATE,
    DocumentKind.FAMILY_RECORD,
    DocumentKind.DEATH_CERTIFICATE,
)
# How a status is shown (docs/ui.md §6 tags): success, warning (the person must act), error, neutral.
DOCUMENT_STATUS_TONES = {
    DocumentStatus.VALID: "success",
    DocumentStatus.EXPIRED: "warning",
    DocumentStatus.REPORTED_LOST: "error",
    DocumentStatus.REPLACED: "neutral",
    DocumentStatus.CANCELLED: "neutral",
}


@dataclass(frozen=True)
class HeldDocument:
    """One of a person's documents as their account page shows it: the newest version."""

    document: Document
    # The status the person must act on: a valid card past its expiry date is shown expired
    # even before the nightly `document_expire_due` has marked it.
    status: str

    @property
    def status_label(self) -> str:
        return str(DocumentStatus(self.status).label)

    @property
    def tone(self) -> str:
        return DOCUMENT_STATUS_TONES.get(DocumentStatus(self.status), "neutral")


def documents_held_by(*, person: Person, today: dt.date) -> list[HeldDocument]:
    """The newest version of each kind of document the person holds (their ID card, birth
    certificate, family record as its head…), card first. One query."""
    newest: dict[str, Document] = {}
    for version in Document.objects.filter(holder=person).order_by("kind", "-version", "-id"):
        newest.setdefault(version.kind, version)
    held = []
    for kind in DOCUMENT_ORDER:
        document = newest.get(kind)
        if document is None:
            continue
        status = document.status
        if (
            status == DocumentStatus.VALID
            and document.expiry_date is not None
            and document.expiry_date < today
        ):
            status = DocumentStatus.EXPIRED
        held.append(HeldDocument(document=document, status=status))
    return held


def unpaid_fines_for(*, person: Person) -> list[CivilFine]:
    """The person's civil-affairs fines not yet paid, oldest first."""
    return list(CivilFine.objects.filter(person=person, paid_at__isnull=True).order_by("issued_on", "id"))


def person_for_counter(*, id_number: str) -> Person:
    """The person an officer looks up at the counter by ID number (typed in any form).

    Raises ApplicationError `id_number_invalid` for a number that cannot exist and NotFound
    `person_not_found` for one that is not in the register. The page audits the view.
    """
    return person_get_by_id_number(id_number)


def biometric_capture_latest(*, person_id: int) -> BiometricCapture | None:
    """The person's latest biometrics taken at an office (photo, matcher reference), or None."""
    return (
        BiometricCapture.objects.filter(person_id=person_id)
        .select_related("office")
        .order_by("-captured_at", "-id")
        .first()
    )


def offices_by_code(*, codes: Iterable[str], known: Iterable[Office | None] = ()) -> dict[str, Office]:
    """The offices of these codes (audit events name offices by code), one query at most; unknown
    codes are left out. `known`: offices the caller already read, taken as they are (no query
    when they name every code)."""
    wanted = {code for code in codes if code}
    found = {office.code: office for office in known if office is not None and office.code in wanted}
    missing = wanted - found.keys()
    if missing:
        found.update((office.code, office) for office in Office.objects.filter(code__in=missing))
    return found


# --- Finding a person by ID number or name (docs/design.md, "Finding a person") -------------------

SEARCH_PAGE_SIZE: Final = 50
# Deeper than this, a name is too common to browse: the searcher adds another part of it.
SEARCH_MAX_OFFSET: Final = 450
# Longer queries are refused before any work; more words than this are not looked at.
SEARCH_MAX_QUERY_LENGTH: Final = 200
SEARCH_MAX_TOKENS: Final = 10
# Single letters match almost everyone (and nothing through the trigram index): left out.
SEARCH_MIN_TOKEN_LENGTH: Final = 2
# From this length a query word is matched as a whole word with one letter allowed wrong
# (strict word similarity ≥ 0.5 holds for one substitution in eight letters or more).
SEARCH_TYPO_MIN_LENGTH: Final = 8
# The matches PostgreSQL ranks at most: every page down to SEARCH_MAX_OFFSET, and one more.
SEARCH_CANDIDATES: Final = SEARCH_MAX_OFFSET + SEARCH_PAGE_SIZE + 1
# The close lexicon words a mistyped or partial query word stands for, at most (the best first):
# enough for every spelling one letter away, few enough to keep the words index's union small.
SEARCH_ALTERNATIVES: Final = 50
# A search PostgreSQL cannot answer in this time is refused as too broad, not left running.
SEARCH_TIME_LIMIT_MS: Final = 3_000


class _WordSimilar(Func):
    """`word %> 'token'` (pg_trgm), on the lexicon's words (NameWord): the token is close to
    some extent of the word (word_similarity ≥ pg_trgm.word_similarity_threshold, 0.6): the
    whole word, its start or its end ("عبد", "qahtani" in "alqahtani"). Written as the
    operator, not the function: only the operator is answered by the GIN index."""

    arg_joiner = " %%> "
    template = "(%(expressions)s)"
    output_field = BooleanField()


class _StrictWordSimilar(_WordSimilar):
    """`word %>> 'token'`: the token is close to the whole word (strict_word_similarity ≥
    0.5), which is what forgives a wrong letter inside a long name part ("الشمزاني" for
    "الشمراني": 0.5 strict, but only 0.5 < 0.6 by the measure above)."""

    arg_joiner = " %%>> "


class _SearchWords(Func):
    """`string_to_array(search_name, ' ')`: the words of the search column, exactly the
    expression of migration 0009's GIN index (PostgreSQL uses an index only for the same
    expression). Its `__contains` lookup is PostgreSQL's `@>` and its `__overlap` `&&`, both
    answered from one posting list per word."""

    function = "string_to_array"
    template = "%(function)s(%(expressions)s, ' ')"
    output_field = ArrayField(TextField())


@dataclass(frozen=True)
class PersonSearchPage:
    """One page of search results: at most `limit` persons, best first, and whether more follow.

    Never a total: counting every match of a common name in a register of millions costs more
    than finding the page (the page fetches one row more than it shows to know about the next).
    """

    persons: list[Person]
    by_id_number: bool
    offset: int
    limit: int
    has_next: bool

    @property
    def next_offset(self) -> int | None:
        following = self.offset + self.limit
        return following if self.has_next and following <= SEARCH_MAX_OFFSET else None

    @property
    def previous_offset(self) -> int | None:
        return max(self.offset - self.limit, 0) if self.offset > 0 else None


def _invalid_query(message: str | Promise) -> ApplicationError:
    return ApplicationError(errors.SEARCH_QUERY_INVALID, message, field="query")


def _id_number_query(query: str) -> str | None:
    """The ten digits of a query that is an ID number (typed in any form), None for a name
    query; ApplicationError `id_number_invalid` for digits that cannot be an ID number."""
    digits = normalise_id_number(query.strip())
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    try:
        validate_id_number(digits)
    except ValidationError as exc:
        raise ApplicationError(errors.ID_NUMBER_INVALID, exc.messages[0], field="query") from exc
    return digits


def close_name_words(token: str, *, using: str = "default") -> QuerySet[NameWord]:
    """On PostgreSQL, the lexicon's words (NameWord) close to a query word that is no whole word
    of it, best first, at most SEARCH_ALTERNATIVES, through the lexicon's GIN trigram index
    (migration 0012; a lexicon of a few thousand words PostgreSQL may rather read whole, in a
    few milliseconds). The same rules as a person's name once met: a word of
    SEARCH_TYPO_MIN_LENGTH letters or more by strict word similarity (a whole word, one letter
    may be wrong), a shorter one by word similarity (the start or end of a word: "moham")."""
    words = NameWord.objects.using(using)
    column = F("word")
    if len(token) >= SEARCH_TYPO_MIN_LENGTH:
        close: Func = _StrictWordSimilar(column, Value(token))
        similarity: Func = TrigramStrictWordSimilarity(token, column)
    else:
        close, similarity = _WordSimilar(column, Value(token)), TrigramWordSimilarity(token, column)
    # Ties (every word a short token starts) go to the shortest words, closest to the token.
    return words.filter(close).order_by(similarity.desc(), Length("word"), "word")[:SEARCH_ALTERNATIVES]


def _lexicon_alternatives(tokens: list[str], using: str) -> tuple[list[str], list[list[str]]]:
    """The query words found whole in the lexicon, and for each other word its close lexicon
    words (an empty list: no word is close, the search finds nobody). One query for the whole
    words, one per other word, each reading only the small lexicon."""
    whole = set(NameWord.objects.using(using).filter(word__in=tokens).values_list("word", flat=True))
    alternatives: list[list[str]] = []
    for token in tokens:
        if token in whole:
            continue
        close = list(close_name_words(token, using=using).values_list("word", flat=True))
        alternatives.append(close)
        if not close:
            break  # nobody can match this word: no need to look the others up
    return [token for token in tokens if token in whole], alternatives


def person_search_queryset(
    query: str, *, within: QuerySet[Person] | None = None
) -> tuple[QuerySet[Person], bool]:
    """The persons a query finds (among `within`, default everyone), best first, and whether it
    was an ID-number search.

    An ID number (any form: Eastern digits, spaces, hyphens) is looked up exactly. Anything else
    is a name search: each word of the query, normalised (name_search.py), must match a word of
    the person's name in either script. On PostgreSQL persons are found through the GIN index on
    their words only: first with every query word whole; if that finds nobody, each query word
    that is no whole word of the lexicon (NameWord) is replaced by its close lexicon words
    (`close_name_words`: for a word of eight letters or more a whole word with one letter
    perhaps wrong, for a shorter one a word it is close to a part of), and a person must bear
    every other query word whole and one of each such word's close words. Before returning, it
    reads the lexicon for that (small queries, answered by its indexes). Matches are ranked by
    the sum of the query words' similarities to the person's name (whole-word matches first, by
    ID number). On SQLite a word matches as a substring (no typo tolerance), ordered by ID
    number. Raises ApplicationError `search_query_invalid` or `id_number_invalid` for a query
    that cannot find anyone.
    """
    if len(query) > SEARCH_MAX_QUERY_LENGTH:
        raise _invalid_query(
            _("The search is too long: enter an ID number or up to %(count)d characters of a name.")
            % {"count": SEARCH_MAX_QUERY_LENGTH}
        )
    persons = Person.objects.all() if within is None else within
    number = _id_number_query(query)
    if number is not None:
        return persons.filter(id_number=number), True
    tokens = [token for token in search_tokens(query) if len(token) >= SEARCH_MIN_TOKEN_LENGTH]
    if not tokens:
        raise _invalid_query(_("Enter an ID number, or at least two letters of a name."))
    tokens = tokens[:SEARCH_MAX_TOKENS]
    if connections[persons.db].vendor == "postgresql":
        # First every word whole, through the words index (0009): the common case, since the
        # normal form already absorbs spelling variants, case and accents; its candidates are
        # the first in table order. Only when it finds nobody does the fallback run (a typo, a
        # part of a word): `NOT EXISTS` over the same condition is a one-time filter in
        # PostgreSQL's plan. The fallback reads the same words index, never a trigram scan of
        # the persons (755 ms at 10 million): the trigram work is done on the lexicon, a few
        # thousand words. One statement, so the admin's paging and counting and the search's
        # time limit apply to both paths alike.
        has_every_word = Q(search_words__contains=tokens)
        persons = persons.alias(search_words=_SearchWords("search_name"))
        exact = persons.filter(has_every_word)
        candidates = exact.order_by().values("pk")[:SEARCH_CANDIDATES]
        whole, alternatives = _lexicon_alternatives(tokens, persons.db)
        # Every word whole in the lexicon: the fallback would ask the exact path's question again.
        # A word close to no lexicon word: nobody can match it.
        if alternatives and all(alternatives):
            fallback = persons.filter(~Exists(exact.order_by().values("pk")))
            if whole:
                fallback = fallback.filter(search_words__contains=whole)
            for close in alternatives:
                # `&&`: one posting list per close word, united; at most SEARCH_ALTERNATIVES.
                fallback = fallback.filter(search_words__overlap=close)
            # Rank at most SEARCH_CANDIDATES matches: a name shared by tens of thousands ("فاطمة"
            # alone) would otherwise fetch and score every one of them to show fifty. The first
            # candidates in table order are the same for every page, so paging stays consistent.
            candidates = candidates.union(fallback.order_by().values("pk")[:SEARCH_CANDIDATES], all=True)
        similarities: list[Any] = []
        for token in tokens:
            # The rank, as the trigram rules saw it: a long word compared with whole words, a
            # short one with parts of words too. Computed for the candidates only.
            column = F("search_name")
            if len(token) >= SEARCH_TYPO_MIN_LENGTH:
                similarities.append(TrigramStrictWordSimilarity(token, column))
            else:
                similarities.append(TrigramWordSimilarity(token, column))
        # Whole-word matches rank equal (each word's similarity would be 1): ordered by ID
        # number, without computing a similarity.
        rank = Case(
            When(has_every_word, then=Value(float(len(tokens)))),
            default=sum(similarities[1:], start=similarities[0]),
            output_field=FloatField(),
        )
        ranked = (
            Person.objects.filter(pk__in=candidates)
            .alias(search_words=_SearchWords("search_name"))
            .annotate(search_rank=rank)
        )
        return ranked.order_by("-search_rank", "id_number"), False
    for token in tokens:
        # Stored lower-case and unaccented like the token; LIKE escapes are Django's.
        persons = persons.filter(search_name__contains=token)
    return persons.order_by("id_number"), False


def person_search(query: str, *, limit: int = SEARCH_PAGE_SIZE, offset: int = 0) -> PersonSearchPage:
    """A page of the persons `query` finds (see `person_search_queryset`), from `offset`.

    `limit` is capped at SEARCH_PAGE_SIZE and `offset` at SEARCH_MAX_OFFSET. Fetches limit + 1
    rows to tell whether a next page exists; never counts. Raises ApplicationError
    `search_query_invalid`, `id_number_invalid`, or `search_too_broad` when PostgreSQL cannot
    rank the matches within SEARCH_TIME_LIMIT_MS (a very common name alone).
    """
    limit = min(max(limit, 1), SEARCH_PAGE_SIZE)
    offset = min(max(offset, 0), SEARCH_MAX_OFFSET)
    persons, by_id_number = person_search_queryset(query)
    try:
        with statement_time_limit(persons.db, SEARCH_TIME_LIMIT_MS):
            found = list(persons[offset : offset + limit + 1])
    except OperationalError as exc:
        if not timed_out(exc, persons.db):
            raise
        raise ApplicationError(
            errors.SEARCH_TOO_BROAD,
            _("Too many persons match this search: add another part of the name."),
            field="query",
        ) from exc
    return PersonSearchPage(
        persons=found[:limit],
        by_id_number=by_id_number,
        offset=offset,
        limit=limit,
        has_next=len(found) > limit,
    )
