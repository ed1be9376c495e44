"""healthz (alive) and readyz (database answers), for load balancers and orchestrators."""

from unittest import mock

import pytest
from django.db import DatabaseError, OperationalError, connections


@pytest.mark.django_db
def test_healthz_answers_ok_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readyz_answers_ok_when_the_database_does(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError, DatabaseError])
def test_readyz_is_503_without_details_when_the_database_fails(client, error):
    connection = connections["default"]
    cursor = mock.MagicMock()
    cursor.__enter__.return_value.execute.side_effect = error("could not connect to server at 10.0.0.7")
    with mock.patch.object(connection, "cursor", return_value=cursor):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "error"}
    assert b"10.0.0.7" not in response.content
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readyz_is_503_when_the_connection_itself_fails(client):
    with mock.patch.object(connections["default"], "cursor", side_effect=OperationalError("refused")):
        response = client.get("/readyz")

    assert response.status_code == 503


@pytest.mark.parametrize("url", ["/healthz", "/readyz"])
def test_probes_refuse_writes(client, url):
    assert client.post(url).status_code == 405


@pytest.mark.django_db
def test_probes_answer_a_node_addressed_by_its_own_ip_which_pages_refuse(client, settings):
    # A load balancer's check or a kubelet's probe: Host is the node's address, not the site's.
    settings.ALLOWED_HOSTS = ["hawiya.example"]
    assert client.get("/healthz", HTTP_HOST="10.89.0.11:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.89.0.11:8000").status_code == 200
    assert client.get("/en/", HTTP_HOST="10.89.0.11:8000").status_code == 400
