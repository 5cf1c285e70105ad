"""IAM through the official Huawei Python SDK (huaweicloudsdkiam 3.1.219) against a real plugboard.

Contract: docs/api-coverage.md (IAM, Every request), docs/error-codes.md, docs/contract.md (Bootstrap).
What the SDK sends and how it reads answers: SDK_NOTES.md next to this file.
"""

import os
import secrets
import stat
import time
from datetime import datetime, timedelta, timezone

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials, Credentials, GlobalCredentials
from huaweicloudsdkcore.region.region import Region as SdkRegion  # the IAM models export a `Region` too
from huaweicloudsdkiam.v3 import IamClient
from huaweicloudsdkiam.v3 import model as iam

from sdkhelpers import (
    AK_RE, BAD_SIGNATURE, BAD_TOKEN, EXPIRED_TOKEN, FORBIDDEN, HEX32, KEYSTONE_UNAUTHORIZED,
    NO_CREDENTIALS, SK_RE, UNKNOWN_AK, create_access_key, create_token, create_user,
    expect_gateway_error, expect_sdk_error, http, iam_basic, iam_global, iam_token,
    parse_token_time, provision_readonly_user, raw_json, signed_call, signed_headers, unique,
    create_sub_project, password_token_body,
)


@pytest.fixture(scope="module")
def reader(plugboard):
    """A user holding only `readonly` on the bootstrap project, with a permanent AK/SK."""
    return provision_readonly_user(plugboard)


@pytest.fixture
def stranger(plugboard):
    """A fresh user with a password and an access key but no role anywhere. Used where a test
    makes AK/SK failures, which count towards the per-AK lock-out."""
    admin = iam_global(plugboard)
    user_id, name, password = create_user(admin, plugboard)
    ak, sk = create_access_key(admin, user_id)
    return {"user_id": user_id, "name": name, "password": password, "ak": ak, "sk": sk}


def _list_local(client):
    return client.keystone_list_projects(iam.KeystoneListProjectsRequest(name="local"))


# -- bootstrap ----------------------------------------------------------------------------------
def test_bootstrap_file(plugboard):
    boot = plugboard.bootstrap
    assert stat.S_IMODE(os.stat(plugboard.bootstrap_file).st_mode) == 0o600
    assert (boot["region"], boot["domain_name"], boot["user_name"], boot["project_name"]) == \
        ("local", "plugboard", "admin", "local")
    for key in ("domain_id", "user_id", "project_id"):
        assert HEX32.match(boot[key]), (key, boot[key])
    assert AK_RE.match(boot["access_key"]) and SK_RE.match(boot["secret_key"])
    assert len(boot["password"]) >= 20
    assert boot["endpoint"] == plugboard.base_url, "endpoint must be the address actually listened on"


# -- 1. projects ------------------------------------------------------------------------------------
def test_list_projects_by_name(plugboard):
    boot = plugboard.bootstrap
    resp = _list_local(iam_global(plugboard))
    assert resp.status_code == 200
    assert len(resp.projects) == 1
    project = resp.projects[0]
    assert (project.id, project.name, project.domain_id) == (boot["project_id"], "local", boot["domain_id"])
    wire = raw_json(resp)["projects"][0]
    assert wire["is_domain"] is False and wire["enabled"] is True


def test_list_projects_unknown_name_is_empty(plugboard):
    resp = iam_global(plugboard).keystone_list_projects(
        iam.KeystoneListProjectsRequest(name="no-such-" + secrets.token_hex(4)))
    assert resp.status_code == 200
    assert resp.projects == []


def test_create_sub_project(plugboard):
    boot = plugboard.bootstrap
    admin = iam_global(plugboard)
    name = "local_" + secrets.token_hex(4)
    resp = admin.keystone_create_project(iam.KeystoneCreateProjectRequest(body=iam.KeystoneCreateProjectRequestBody(
        project=iam.KeystoneCreateProjectOption(name=name, domain_id=boot["domain_id"],
                                                parent_id=boot["project_id"], description="sdk test"))))
    assert resp.status_code == 201
    assert HEX32.match(resp.project.id) and resp.project.id != boot["project_id"]
    assert (resp.project.name, resp.project.domain_id) == (name, boot["domain_id"])
    listed = admin.keystone_list_projects(iam.KeystoneListProjectsRequest(name=name))
    assert [p.id for p in listed.projects] == [resp.project.id]
    # the region's own project is still the only one called "local"
    assert [p.id for p in _list_local(admin).projects] == [boot["project_id"]]


# -- 2. users, groups, roles, grants, access keys --------------------------------------------------
def test_provision_readonly_user(plugboard):
    user = provision_readonly_user(plugboard)  # asserts every step (201/204, ids, AK/SK formats)
    admin = iam_global(plugboard)

    keys = admin.list_permanent_access_keys(iam.ListPermanentAccessKeysRequest(user_id=user.user_id))
    assert keys.status_code == 200
    assert [(k.access, k.status, k.user_id) for k in keys.credentials] == [(user.access_key, "active", user.user_id)]
    assert all("secret" not in k for k in raw_json(keys)["credentials"]), "secrets are shown only at creation"

    users = admin.keystone_list_users(iam.KeystoneListUsersRequest(name=user.name))
    assert users.status_code == 200
    assert [u.id for u in users.users] == [user.user_id]

    shown = admin.keystone_show_user(iam.KeystoneShowUserRequest(user_id=user.user_id))
    assert shown.status_code == 200
    assert (shown.user.id, shown.user.name, shown.user.domain_id, shown.user.enabled) == \
        (user.user_id, user.name, plugboard.bootstrap["domain_id"], True)


def test_delete_access_key(plugboard, stranger):
    admin = iam_global(plugboard)
    resp = admin.delete_permanent_access_key(iam.DeletePermanentAccessKeyRequest(access_key=stranger["ak"]))
    assert resp.status_code == 204
    keys = admin.list_permanent_access_keys(iam.ListPermanentAccessKeysRequest(user_id=stranger["user_id"]))
    assert keys.credentials == []
    expect_sdk_error(lambda: _list_local(iam_global(plugboard, stranger["ak"], stranger["sk"])), UNKNOWN_AK)


# -- 3. a read-only user's AK/SK -----------------------------------------------------------------------
def test_readonly_user_can_list_but_not_write(plugboard, reader):
    boot = plugboard.bootstrap
    client = iam_basic(plugboard, reader.access_key, reader.secret_key, boot["project_id"])

    resp = client.keystone_list_auth_projects(iam.KeystoneListAuthProjectsRequest())
    assert resp.status_code == 200
    assert [p.id for p in resp.projects] == [boot["project_id"]]
    resp = _list_local(client)
    assert resp.status_code == 200
    assert [p.id for p in resp.projects] == [boot["project_id"]]

    group_name, user_name = unique("denied"), unique("denied")
    expect_sdk_error(lambda: client.keystone_create_group(iam.KeystoneCreateGroupRequest(
        body=iam.KeystoneCreateGroupRequestBody(group=iam.KeystoneCreateGroupOption(
            name=group_name, domain_id=boot["domain_id"])))), FORBIDDEN)
    expect_sdk_error(lambda: client.create_user(iam.CreateUserRequest(body=iam.CreateUserRequestBody(
        user=iam.CreateUserOption(name=user_name, domain_id=boot["domain_id"], password="Pb-x1234567890!Aa",
                                  enabled=True)))), FORBIDDEN)

    admin = iam_global(plugboard)  # nothing was created behind the 403s
    assert admin.keystone_list_users(iam.KeystoneListUsersRequest(name=user_name)).users == []


# -- 4. AK/SK failures ---------------------------------------------------------------------------------
def test_wrong_secret_key(plugboard, stranger):
    boot = plugboard.bootstrap
    wrong = stranger["sk"][:-1] + ("A" if stranger["sk"][-1] != "A" else "B")
    expect_sdk_error(lambda: _list_local(iam_global(plugboard, stranger["ak"], wrong)), BAD_SIGNATURE)
    expect_sdk_error(lambda: _list_local(iam_basic(plugboard, stranger["ak"], wrong, boot["project_id"])),
                     BAD_SIGNATURE)
    # control: the right key authenticates; the user simply holds no role
    expect_sdk_error(lambda: _list_local(iam_global(plugboard, stranger["ak"], stranger["sk"])), FORBIDDEN)


def test_unknown_access_key(plugboard):
    ak = "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(20))
    expect_sdk_error(lambda: _list_local(iam_global(plugboard, ak, plugboard.bootstrap["secret_key"])), UNKNOWN_AK)


def test_body_changed_after_signing(plugboard, stranger):
    url = plugboard.base_url + "/v3/groups"
    signed_body = b'{"group": {"name": "a"}}'
    headers = signed_headers("POST", url, stranger["ak"], stranger["sk"], body=signed_body)
    expect_gateway_error(http("POST", url, headers=headers, body=b'{"group": {"name": "b"}}'), BAD_SIGNATURE)


def test_sdk_date_too_far_off(plugboard, stranger):
    url = plugboard.base_url + "/v3/projects?name=local"
    old = datetime.now(timezone.utc) - timedelta(minutes=20)
    headers = signed_headers("GET", url, stranger["ak"], stranger["sk"], sdk_date=old)
    expect_gateway_error(http("GET", url, headers=headers), BAD_SIGNATURE)
    # control: the same request signed now authenticates (and is refused for lack of a role)
    headers = signed_headers("GET", url, stranger["ak"], stranger["sk"])
    expect_gateway_error(http("GET", url, headers=headers), FORBIDDEN)


def test_no_credentials(plugboard):
    expect_gateway_error(http("GET", plugboard.base_url + "/v3/projects?name=local"), NO_CREDENTIALS)


def test_malformed_token(plugboard):
    resp = http("GET", plugboard.base_url + "/v3/projects?name=local",
                headers={"X-Auth-Token": "not-a-token-" + secrets.token_hex(8)})
    expect_gateway_error(resp, BAD_TOKEN)


# -- 5. tokens over raw HTTP ---------------------------------------------------------------------------
def test_token_create_and_use(plugboard):
    boot = plugboard.bootstrap
    resp = create_token(plugboard, boot["user_name"], boot["password"])
    assert resp.status == 201, resp.body
    token = resp.headers.get("X-Subject-Token")
    assert token and len(token) >= 43, "a token carries at least 32 random bytes"
    assert HEX32.match(resp.headers.get("X-Request-Id") or "")
    assert resp.headers.get("Content-Type", "").startswith("application/json")

    body = resp.json()["token"]
    assert body["methods"] == ["password"]
    assert body["project"]["id"] == boot["project_id"] and body["project"]["name"] == "local"
    domain = (boot["domain_id"], "plugboard")
    assert (body["project"]["domain"]["id"], body["project"]["domain"]["name"]) == domain
    assert (body["user"]["id"], body["user"]["name"]) == (boot["user_id"], "admin")
    assert (body["user"]["domain"]["id"], body["user"]["domain"]["name"]) == domain
    lifetime = parse_token_time(body["expires_at"]) - parse_token_time(body["issued_at"])
    assert abs(lifetime - timedelta(hours=24)) <= timedelta(seconds=1), lifetime
    iam_urls = [ep["url"] for entry in body["catalog"] if entry["type"] == "iam" for ep in entry["endpoints"]]
    assert iam_urls and all(u.startswith(plugboard.base_url) for u in iam_urls), body["catalog"]

    used = http("GET", plugboard.base_url + "/v3/projects?name=local", headers={"X-Auth-Token": token})
    assert used.status == 200, used.body
    assert [p["id"] for p in used.json()["projects"]] == [boot["project_id"]]

    # the SDK can carry a token too (IamCredentials → X-Auth-Token, unsigned)
    resp = _list_local(iam_token(plugboard, token))
    assert resp.status_code == 200 and [p.id for p in resp.projects] == [boot["project_id"]]


def test_token_nocatalog(plugboard):
    boot = plugboard.bootstrap
    resp = create_token(plugboard, boot["user_name"], boot["password"], nocatalog=True)
    assert resp.status == 201, resp.body
    assert "catalog" not in resp.json()["token"]


def test_token_validate(plugboard):
    boot = plugboard.bootstrap
    token = create_token(plugboard, boot["user_name"], boot["password"]).headers["X-Subject-Token"]
    resp = http("GET", plugboard.base_url + "/v3/auth/tokens",
                headers={"X-Auth-Token": token, "X-Subject-Token": token})
    assert resp.status == 200, resp.body
    assert resp.headers.get("X-Subject-Token") == token
    assert resp.json()["token"]["user"]["id"] == boot["user_id"]

    # through the SDK: the caller is the AK/SK, no X-Auth-Token is sent
    checked = iam_global(plugboard).keystone_validate_token(
        iam.KeystoneValidateTokenRequest(x_subject_token=token, nocatalog="true"))
    assert checked.status_code == 200
    assert checked.x_subject_token == token
    assert (checked.token.user.id, checked.token.project.id) == (boot["user_id"], boot["project_id"])


def test_token_through_sdk(plugboard):
    boot = plugboard.bootstrap
    request = iam.KeystoneCreateUserTokenByPasswordRequest(
        nocatalog="true",
        body=iam.KeystoneCreateUserTokenByPasswordRequestBody(auth=iam.PwdAuth(
            identity=iam.PwdIdentity(methods=["password"], password=iam.PwdPassword(user=iam.PwdPasswordUser(
                domain=iam.PwdPasswordUserDomain(name="plugboard"), name="admin", password=boot["password"]))),
            scope=iam.AuthScope(project=iam.AuthScopeProject(id=boot["project_id"])))))
    resp = iam_token(plugboard).keystone_create_user_token_by_password(request)  # unauthenticated
    assert resp.status_code == 201
    assert resp.x_subject_token
    assert (resp.token.user.id, resp.token.project.id) == (boot["user_id"], boot["project_id"])
    listed = _list_local(iam_token(plugboard, resp.x_subject_token))
    assert [p.id for p in listed.projects] == [boot["project_id"]]


def test_token_revoke(plugboard):
    boot = plugboard.bootstrap
    token = create_token(plugboard, boot["user_name"], boot["password"]).headers["X-Subject-Token"]
    other = create_token(plugboard, boot["user_name"], boot["password"]).headers["X-Subject-Token"]
    resp = http("DELETE", plugboard.base_url + "/v3/auth/tokens",
                headers={"X-Auth-Token": other, "X-Subject-Token": token})
    assert resp.status == 204, resp.body
    url = plugboard.base_url + "/v3/projects?name=local"
    expect_gateway_error(http("GET", url, headers={"X-Auth-Token": token}), EXPIRED_TOKEN)
    assert http("GET", url, headers={"X-Auth-Token": other}).status == 200, "other tokens stay valid"


def test_token_wrong_password(plugboard, stranger):
    resp = create_token(plugboard, stranger["name"], stranger["password"] + "x")
    assert resp.status == 401
    assert resp.json() == KEYSTONE_UNAUTHORIZED
    assert "X-Subject-Token" not in resp.headers
    assert HEX32.match(resp.headers.get("X-Request-Id") or "")
    resp = create_token(plugboard, unique("nobody"), "Pb-whatever-123!")
    assert (resp.status, resp.json()) == (401, KEYSTONE_UNAUTHORIZED)


def test_token_expiry(start_plugboard):
    pb = start_plugboard(config="[iam]\ntoken_ttl_seconds = 2\n")
    boot = pb.bootstrap
    resp = create_token(pb, boot["user_name"], boot["password"])
    assert resp.status == 201, resp.body
    body = resp.json()["token"]
    lifetime = parse_token_time(body["expires_at"]) - parse_token_time(body["issued_at"])
    assert timedelta(seconds=1) <= lifetime <= timedelta(seconds=3), lifetime
    token = resp.headers["X-Subject-Token"]
    url = pb.base_url + "/v3/projects?name=local"
    assert http("GET", url, headers={"X-Auth-Token": token}).status == 200
    time.sleep(3)
    expect_gateway_error(http("GET", url, headers={"X-Auth-Token": token}), EXPIRED_TOKEN)


# -- 6. a path naming another project ------------------------------------------------------------------
def test_other_project_in_path_is_forbidden(plugboard, reader):
    """`reader` holds `readonly` on project A (the bootstrap project) only, granted through the
    SDK. A project-scoped read of A answers 200; the same read naming project B (another real
    project of the same domain, which the admin can read) in its path is 403 APIG.0302 — signed
    with AK/SK (X-Project-Id A or B) and with a token scoped to A alike."""
    boot = plugboard.bootstrap
    project_a = boot["project_id"]
    project_b = create_sub_project(plugboard)
    path = "/v3/{}/instances/kernel-plugins"

    def signed(project_in_path, x_project_id):
        return signed_call(plugboard, "GET", path.format(project_in_path), project_id=x_project_id,
                           ak=reader.access_key, sk=reader.secret_key)

    ok = signed(project_a, project_a)
    assert ok.status == 200, ok.body
    assert isinstance(ok.json(), list), ok.body
    admin_on_b = signed_call(plugboard, "GET", path.format(project_b), project_id=project_b)
    assert admin_on_b.status == 200, f"the route serves project B: {admin_on_b.body}"
    expect_gateway_error(signed(project_b, project_b), FORBIDDEN)
    expect_gateway_error(signed(project_b, project_a), FORBIDDEN)

    resp = create_token(plugboard, reader.name, reader.password)
    assert resp.status == 201, resp.body
    token = resp.headers["X-Subject-Token"]
    ok = http("GET", plugboard.base_url + path.format(project_a), headers={"X-Auth-Token": token})
    assert ok.status == 200, ok.body
    expect_gateway_error(http("GET", plugboard.base_url + path.format(project_b),
                              headers={"X-Auth-Token": token}), FORBIDDEN)


def test_domain_grant_reaches_every_project_of_the_domain(plugboard):
    """KeystoneAssociateGroupWithDomainPermission (PUT /v3/domains/{d}/groups/{g}/roles/{r}):
    `readonly` granted on the domain lets the user read in every project of the domain — the
    bootstrap project and one created after the grant — with AK/SK and with tokens."""
    boot = plugboard.bootstrap
    admin = iam_global(plugboard)
    user_id, name, password = create_user(admin, plugboard)
    resp = admin.keystone_create_group(iam.KeystoneCreateGroupRequest(body=iam.KeystoneCreateGroupRequestBody(
        group=iam.KeystoneCreateGroupOption(name=unique("domain-readers"), domain_id=boot["domain_id"]))))
    assert resp.status_code == 201
    group_id = resp.group.id
    assert admin.keystone_add_user_to_group(iam.KeystoneAddUserToGroupRequest(
        group_id=group_id, user_id=user_id)).status_code == 204
    ak, sk = create_access_key(admin, user_id)
    before = create_sub_project(plugboard)
    path = "/v3/{}/instances/kernel-plugins"

    def read(project):
        return signed_call(plugboard, "GET", path.format(project), project_id=project, ak=ak, sk=sk)

    expect_gateway_error(read(boot["project_id"]), FORBIDDEN)  # no role anywhere yet
    expect_gateway_error(read(before), FORBIDDEN)

    role_id = next(r.id for r in admin.keystone_list_permissions(iam.KeystoneListPermissionsRequest()).roles
                   if r.name == "readonly")
    resp = admin.keystone_associate_group_with_domain_permission(
        iam.KeystoneAssociateGroupWithDomainPermissionRequest(domain_id=boot["domain_id"], group_id=group_id,
                                                              role_id=role_id))
    assert resp.status_code == 204

    after = create_sub_project(plugboard)
    for project in (boot["project_id"], before, after):
        resp = read(project)
        assert resp.status == 200, (project, resp.body)
        assert isinstance(resp.json(), list), resp.body
        token = http("POST", plugboard.base_url + "/v3/auth/tokens?nocatalog=true",
                     json_body=password_token_body(name, password, project_id=project))
        assert token.status == 201, token.body
        resp = http("GET", plugboard.base_url + path.format(project),
                    headers={"X-Auth-Token": token.headers["X-Subject-Token"]})
        assert resp.status == 200, (project, resp.body)
    # still read-only: the domain grant does not allow writes
    client = iam_basic(plugboard, ak, sk, after)
    expect_sdk_error(lambda: client.keystone_create_group(iam.KeystoneCreateGroupRequest(
        body=iam.KeystoneCreateGroupRequestBody(group=iam.KeystoneCreateGroupOption(
            name=unique("denied"), domain_id=boot["domain_id"])))), FORBIDDEN)


# -- 7. ids the SDK discovers by itself -------------------------------------------------------------
@pytest.mark.parametrize("iam_endpoint_from", ["with_iam_endpoint", "env"])
def test_project_id_resolved_from_region(plugboard, monkeypatch, iam_endpoint_from):
    """BasicCredentials without project_id + a region: the SDK calls GET /v3/projects?name=local."""
    boot = plugboard.bootstrap
    monkeypatch.setattr(Credentials, "_CACHE", {})  # the SDK caches resolved ids per AK + region
    creds = BasicCredentials(boot["access_key"], boot["secret_key"])
    if iam_endpoint_from == "env":
        monkeypatch.setenv("HUAWEICLOUD_SDK_IAM_ENDPOINT", plugboard.base_url)
    else:
        monkeypatch.delenv("HUAWEICLOUD_SDK_IAM_ENDPOINT", raising=False)
        creds.with_iam_endpoint(plugboard.base_url)
    client = IamClient.new_builder().with_credentials(creds) \
        .with_region(SdkRegion("local", plugboard.base_url)).build()
    assert creds.project_id == boot["project_id"]
    resp = client.keystone_list_auth_projects(iam.KeystoneListAuthProjectsRequest())
    assert resp.status_code == 200
    assert boot["project_id"] in [p.id for p in resp.projects]


def test_domain_id_resolved_from_region(plugboard, monkeypatch):
    """GlobalCredentials without domain_id + a region: the SDK calls GET /v3/auth/domains
    (docs/api-coverage.md → IAM: KeystoneListAuthDomains; this documented SDK pattern needs it)."""
    boot = plugboard.bootstrap
    monkeypatch.setattr(Credentials, "_CACHE", {})
    creds = GlobalCredentials(boot["access_key"], boot["secret_key"]).with_iam_endpoint(plugboard.base_url)
    client = IamClient.new_builder().with_credentials(creds) \
        .with_region(SdkRegion("local", plugboard.base_url)).build()
    assert creds.domain_id == boot["domain_id"]
    resp = _list_local(client)
    assert resp.status_code == 200 and [p.id for p in resp.projects] == [boot["project_id"]]


# -- restart ------------------------------------------------------------------------------------------
def test_restart_keeps_state(start_plugboard):
    pb = start_plugboard()
    before = pb.bootstrap_file.read_bytes()
    user = provision_readonly_user(pb)

    pb.restart()  # SIGTERM → exit 0 → start again (new port, same data dir / database)

    assert pb.bootstrap_file.read_bytes() == before, "later starts never rewrite bootstrap.json"
    boot = pb.bootstrap
    shown = iam_global(pb).keystone_show_user(iam.KeystoneShowUserRequest(user_id=user.user_id))
    assert shown.status_code == 200 and shown.user.name == user.name
    # the SK is recoverable after a restart, so the user's signatures still verify
    client = iam_basic(pb, user.access_key, user.secret_key, boot["project_id"])
    resp = client.keystone_list_auth_projects(iam.KeystoneListAuthProjectsRequest())
    assert resp.status_code == 200 and [p.id for p in resp.projects] == [boot["project_id"]]


# -- names (issue 9.9) --------------------------------------------------------------------------------
@pytest.mark.parametrize("blank", [" ", "    ", "\t "])
def test_names_of_only_spaces_are_refused_and_nothing_is_stored(plugboard, blank):
    admin = iam_global(plugboard)
    domain_id = plugboard.bootstrap["domain_id"]
    users_before = len(admin.keystone_list_users(iam.KeystoneListUsersRequest()).users)
    groups_before = len(admin.keystone_list_groups(iam.KeystoneListGroupsRequest()).groups)
    for path, body, field in [
        ("/v3.0/OS-USER/users", {"user": {"name": blank, "domain_id": domain_id, "password": "Secret-pass1"}}, "user.name"),
        ("/v3/groups", {"group": {"name": blank, "domain_id": domain_id}}, "group.name"),
        ("/v3/projects", {"project": {"name": blank, "domain_id": domain_id}}, "project.name"),
    ]:
        resp = signed_call(plugboard, "POST", path, body)
        assert resp.status == 400, (path, resp.status, resp.body)
        err = resp.json()["error"]
        assert err["code"] == 400 and field in err["message"], (path, err)
    assert len(admin.keystone_list_users(iam.KeystoneListUsersRequest()).users) == users_before
    assert len(admin.keystone_list_groups(iam.KeystoneListGroupsRequest()).groups) == groups_before


def test_names_are_stored_trimmed(plugboard):
    admin = iam_global(plugboard)
    domain_id = plugboard.bootstrap["domain_id"]
    name = unique("padded")
    resp = signed_call(plugboard, "POST", "/v3/groups", {"group": {"name": f"  {name} ", "domain_id": domain_id}})
    assert resp.status == 201, resp.body
    assert resp.json()["group"]["name"] == name
    user = signed_call(plugboard, "POST", "/v3.0/OS-USER/users",
                       {"user": {"name": f" {name}  ", "domain_id": domain_id, "password": "Secret-pass1"}})
    assert user.status == 201, user.body
    assert user.json()["user"]["name"] == name
    assert [u.name for u in admin.keystone_list_users(iam.KeystoneListUsersRequest(name=name)).users] == [name]
