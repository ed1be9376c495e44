"""A stand-in ABIS on 127.0.0.1 for the tests: the JSON API of registry.matchers on the shared fake
partner (core.fakepartner), answering by path from what the test set (a reference, a score, a
status, raw bytes, or no answer until the test ends) and recording what it was sent."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hawiya.core.fakepartner import FakePartner, Received, Reply

TOKEN = "abis-test-token"


class Abis(FakePartner):
    def __init__(self) -> None:
        super().__init__()
        self.status = 200
        self.enrol_answer: bytes = json.dumps({"reference": "abis-ref-0001"}).encode()
        self.verify_answer: bytes = json.dumps({"score": 100}).encode()
        self.stall = False

    def respond(self, request: Received) -> Reply:
        if self.stall:
            return Reply(delay=30, hang_up=True)
        answer = self.enrol_answer if request.path == "/templates" else self.verify_answer
        return Reply(status=self.status, body=answer)

    def scores(self, score: object) -> None:
        self.verify_answer = json.dumps({"score": score}).encode()

    def templates_sent(self) -> list[bytes]:
        return [base64.b64decode(body["template_b64"]) for _, _, body in self.received]


@contextmanager
def running_abis() -> Iterator[Abis]:
    """The stand-in ABIS, serving until the block ends (a test module's fixture wraps it)."""
    with Abis() as running:
        yield running


def use_abis(settings: Any, abis: Abis, *, threshold: float = 60.0) -> Abis:
    """The settings choose the HTTP matcher, pointed at the stand-in ABIS."""
    settings.HAWIYA_BIOMETRIC_MATCHER = "http"
    settings.HAWIYA_BIOMETRIC_MATCHER_URL = abis.url
    settings.HAWIYA_BIOMETRIC_MATCHER_TOKEN = TOKEN
    settings.HAWIYA_BIOMETRIC_MATCHER_TIMEOUT = 2.0
    settings.HAWIYA_BIOMETRIC_MATCH_THRESHOLD = threshold
    return abis
