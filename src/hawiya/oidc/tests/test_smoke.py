from hawiya.oidc.tests.conftest import query_of


def test_code_flow(flow):
    location = flow.code_redirect()
    assert "code" in query_of(location)
    token = flow.tokens(location)
    assert token["id_token"]
    info = flow.session.get("http://127.0.0.1:8000/oidc/userinfo/").json()
    assert info["sub"]
    assert info["name#en"]
