"""Show what the official IAM SDK puts on the wire (the evidence behind SDK_NOTES.md).

Runs a recording HTTP server on 127.0.0.1, drives the SDK against it and prints every request
(method, target, headers in wire order, body) and how the SDK surfaced the canned answer.
    "$(scripts/sdk-venv.sh)/bin/python" tests/sdk/tools/sdk_wire_probe.py
"""
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkcore.exceptions.exceptions import ServiceResponseException
from huaweicloudsdkcore.region.region import Region as SdkRegion
from huaweicloudsdkiam.v3 import IamClient
from huaweicloudsdkiam.v3 import model as m
from huaweicloudsdkiam.v3.iam_credentials import IamCredentials

AK, SK, DOM, PROJ, USER, GROUP, ROLE = "A" * 20, "S" * 40, "d" * 32, "p" * 32, "u" * 32, "g" * 32, "r" * 32
LOG, ANSWERS = [], {}  # ANSWERS: (method, path prefix) -> (status, extra headers, body)


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _any(self):
        n = int(self.headers.get("Content-Length") or 0)
        LOG.append((self.command, self.path, list(self.headers.items()), self.rfile.read(n) if n else b""))
        status, extra, body = 200, {}, {}
        for (method, prefix), answer in ANSWERS.items():
            if method == self.command and self.path.split("?")[0].startswith(prefix):
                status, extra, body = answer
                break
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        headers = {"Content-Type": "application/json;charset=UTF-8", "X-Request-Id": "0" * 32, **extra}
        for k, v in headers.items():
            if v is not None:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _any

    def log_message(self, *args):
        pass


def dump(title, outcome):
    print(f"===== {title} -> {outcome}")
    for method, target, headers, body in LOG:
        print(f"{method} {target}")
        for k, v in headers:
            print(f"    {k}: {v if k != 'User-Agent' else v[:50] + '...'}")
        if body:
            print(f"    BODY {body.decode()}")
    LOG.clear()


def run(title, call):
    try:
        r = call()
        outcome = f"{type(r).__name__} status_code={r.status_code} {str(r.to_dict())[:160]}"
    except ServiceResponseException as e:
        outcome = str(e)
    except Exception as e:  # noqa: BLE001 - show anything the SDK raises
        outcome = f"{type(e).__name__}: {e}"
    dump(title, outcome)


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_port}"
    ANSWERS.update({
        ("GET", "/v3/projects"): (200, {}, {"projects": [{"id": PROJ, "name": "local"}], "links": {"self": "x"}}),
        ("GET", "/v3/auth/domains"): (200, {}, {"domains": [{"id": DOM, "name": "plugboard"}]}),
        ("POST", "/v3/auth/tokens"): (201, {"X-Subject-Token": "tok"}, {"token": {"methods": ["password"]}}),
        ("GET", "/v3/auth/tokens"): (200, {"X-Subject-Token": "tok"}, {"token": {"methods": ["password"]}}),
        ("PUT", "/v3"): (204, {"Content-Type": None}, None),
        ("DELETE", "/v3"): (204, {"Content-Type": None}, None),
    })

    c = IamClient.new_builder().with_credentials(GlobalCredentials(AK, SK, DOM)).with_endpoints([base]).build()
    token_body = m.KeystoneCreateUserTokenByPasswordRequestBody(auth=m.PwdAuth(
        identity=m.PwdIdentity(methods=["password"], password=m.PwdPassword(user=m.PwdPasswordUser(
            domain=m.PwdPasswordUserDomain(name="plugboard"), name="admin", password="pw"))),
        scope=m.AuthScope(project=m.AuthScopeProject(name="local"))))
    calls = {
        "KeystoneListProjects": lambda: c.keystone_list_projects(m.KeystoneListProjectsRequest(name="local")),
        "KeystoneListAuthProjects": lambda: c.keystone_list_auth_projects(m.KeystoneListAuthProjectsRequest()),
        "CreateUser": lambda: c.create_user(m.CreateUserRequest(body=m.CreateUserRequestBody(user=m.CreateUserOption(
            name="alice", domain_id=DOM, password="Passw0rd!x", enabled=True)))),
        "KeystoneCreateGroup": lambda: c.keystone_create_group(m.KeystoneCreateGroupRequest(
            body=m.KeystoneCreateGroupRequestBody(group=m.KeystoneCreateGroupOption(name="g", domain_id=DOM)))),
        "KeystoneAddUserToGroup": lambda: c.keystone_add_user_to_group(
            m.KeystoneAddUserToGroupRequest(group_id=GROUP, user_id=USER)),
        "KeystoneListPermissions": lambda: c.keystone_list_permissions(
            m.KeystoneListPermissionsRequest(name="readonly", domain_id=DOM, page=1, per_page=10)),
        "KeystoneAssociateGroupWithProjectPermission": lambda: c.keystone_associate_group_with_project_permission(
            m.KeystoneAssociateGroupWithProjectPermissionRequest(project_id=PROJ, group_id=GROUP, role_id=ROLE)),
        "KeystoneAssociateGroupWithDomainPermission": lambda: c.keystone_associate_group_with_domain_permission(
            m.KeystoneAssociateGroupWithDomainPermissionRequest(domain_id=DOM, group_id=GROUP, role_id=ROLE)),
        "CreatePermanentAccessKey": lambda: c.create_permanent_access_key(m.CreatePermanentAccessKeyRequest(
            body=m.CreatePermanentAccessKeyRequestBody(credential=m.CreateCredentialOption(user_id=USER)))),
        "ListPermanentAccessKeys": lambda: c.list_permanent_access_keys(m.ListPermanentAccessKeysRequest(user_id=USER)),
        "DeletePermanentAccessKey": lambda: c.delete_permanent_access_key(
            m.DeletePermanentAccessKeyRequest(access_key=AK)),
        "KeystoneCreateProject": lambda: c.keystone_create_project(m.KeystoneCreateProjectRequest(
            body=m.KeystoneCreateProjectRequestBody(project=m.KeystoneCreateProjectOption(
                name="local_x", domain_id=DOM, parent_id=PROJ)))),
        "KeystoneListUsers": lambda: c.keystone_list_users(m.KeystoneListUsersRequest(name="alice", enabled=True)),
        "KeystoneShowUser": lambda: c.keystone_show_user(m.KeystoneShowUserRequest(user_id=USER)),
        "KeystoneCreateUserTokenByPassword": lambda: c.keystone_create_user_token_by_password(
            m.KeystoneCreateUserTokenByPasswordRequest(nocatalog="true", body=token_body)),
        "KeystoneValidateToken": lambda: c.keystone_validate_token(m.KeystoneValidateTokenRequest(x_subject_token="tok")),
        "KeystoneListAuthDomains": lambda: c.keystone_list_auth_domains(m.KeystoneListAuthDomainsRequest()),
    }
    for title, call in calls.items():
        run(f"GlobalCredentials(ak, sk, domain_id): {title}", call)

    def region_client(creds):
        return IamClient.new_builder().with_credentials(creds).with_region(SdkRegion("local", base)).build()

    run("GlobalCredentials(ak, sk) + region: build() looks up the domain",
        lambda: region_client(GlobalCredentials("B" * 20, SK).with_iam_endpoint(base))
        .keystone_list_auth_projects(m.KeystoneListAuthProjectsRequest()))
    os.environ["HUAWEICLOUD_SDK_IAM_ENDPOINT"] = base
    run("BasicCredentials(ak, sk) + region + HUAWEICLOUD_SDK_IAM_ENDPOINT: build() looks up the project",
        lambda: region_client(BasicCredentials("C" * 20, SK))
        .keystone_list_auth_projects(m.KeystoneListAuthProjectsRequest()))
    run("IamCredentials(token)", lambda: IamClient.new_builder().with_credentials(IamCredentials("tok"))
        .with_endpoints([base]).build().keystone_list_auth_projects(m.KeystoneListAuthProjectsRequest()))

    errors = {
        "flat gateway error": (401, {}, {"error_code": "APIG.0301", "error_msg": "verify aksk signature fail"}),
        "Keystone error": (401, {}, {"error": {"code": 401, "title": "Unauthorized", "message": "needs auth"}}),
        "DBSS error": (400, {}, {"error": {"error_code": "DBSS.10000001", "error_msg": "bad"}}),
        "no X-Request-Id, request_id in body": (403, {"X-Request-Id": None},
                                                {"error_code": "APIG.0302", "error_msg": "no", "request_id": "1" * 32}),
        "unexpected 200 instead of 201": (200, {}, {"group": {"id": GROUP, "unknown_field": 1}}),
        "group create_time as a string": (201, {}, {"group": {"id": GROUP, "create_time": "2026-11-22T05:18:00Z"}}),
        "empty 201": (201, {"Content-Type": None}, None),
    }
    for title, answer in errors.items():
        ANSWERS[("POST", "/v3/groups")] = answer
        run(f"answer: {title}", calls["KeystoneCreateGroup"])


if __name__ == "__main__":
    main()
