"""Helpers shared by the SDK tests: official-SDK clients, error checks, raw HTTP."""

import json
import re
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit, parse_qsl

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkcore.exceptions.exceptions import ServiceResponseException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkiam.v3 import IamClient
from huaweicloudsdkiam.v3 import model as iam
from huaweicloudsdkiam.v3.iam_credentials import IamCredentials

HEX32 = re.compile(r"^[0-9a-f]{32}$")
AK_RE = re.compile(r"^[A-Z0-9]{20}$")
SK_RE = re.compile(r"^[A-Za-z0-9]{40}$")
TOKEN_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

# docs/error-codes.md, "API gateway": (status, error_code, error_msg tail)
NO_CREDENTIALS = (401, "APIG.0301", "x-auth-token not found")
BAD_TOKEN = (401, "APIG.0301", "decrypt token fail")
EXPIRED_TOKEN = (401, "APIG.0307", "The token must be updated.")
BAD_SIGNATURE = (401, "APIG.0301", "verify aksk signature fail")
UNKNOWN_AK = (401, "APIG.0301", "Get secretKey failed")
FORBIDDEN = (403, "APIG.0302", "The IAM user is not authorized to access the API.")
KEYSTONE_UNAUTHORIZED = {"error": {"code": 401, "title": "Unauthorized",
                                   "message": "The request you have made requires authentication."}}


def unique(prefix):
    return f"{prefix}-{secrets.token_hex(4)}"


def strong_password():
    return f"Pb{secrets.token_hex(8)}!Aa9"


def _config():
    config = HttpConfig.get_default_config()
    config.timeout = (5, 30)
    return config


# -- official SDK clients ---------------------------------------------------------------------
def iam_global(pb, ak=None, sk=None, domain_id=None):
    """IamClient the way Huawei documents it for IAM: GlobalCredentials + explicit endpoint."""
    boot = pb.bootstrap
    creds = GlobalCredentials(ak or boot["access_key"], sk or boot["secret_key"],
                              domain_id or boot["domain_id"])
    return IamClient.new_builder().with_http_config(_config()).with_credentials(creds) \
        .with_endpoints([pb.base_url]).build()


def iam_basic(pb, ak, sk, project_id):
    creds = BasicCredentials(ak, sk, project_id)
    return IamClient.new_builder().with_http_config(_config()).with_credentials(creds) \
        .with_endpoints([pb.base_url]).build()


def iam_token(pb, token=None):
    """IamClient authenticating with X-Auth-Token (or with nothing when token is None)."""
    creds = IamCredentials(token)
    return IamClient.new_builder().with_http_config(_config()).with_credentials(creds) \
        .with_endpoints([pb.base_url]).build()


def expect_sdk_error(call, expected):
    """Run an SDK call that must fail with (status, error_code, error_msg tail); return the exception."""
    status, code, msg = expected
    with pytest.raises(ServiceResponseException) as info:
        call()
    e = info.value
    assert (e.status_code, e.error_code) == (status, code), str(e)
    if msg is not None:
        assert msg in (e.error_msg or ""), str(e)
    assert HEX32.match(e.request_id or ""), f"X-Request-Id missing or not 32 hex: {e}"
    return e


def raw_json(response):
    """The JSON body behind an SDK response (to check wire types the models would hide)."""
    return json.loads(response.raw_content) if response.raw_content else None


def parse_token_time(value):
    assert TOKEN_TIME_RE.match(value), value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


# -- raw HTTP -----------------------------------------------------------------------------------
@dataclass
class RawResponse:
    status: int
    headers: object  # http.client.HTTPMessage: case-insensitive .get()
    body: bytes

    def json(self):
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def http(method, url, headers=None, body=None, json_body=None):
    """Plain HTTP without raising on 4xx/5xx."""
    headers = dict(headers or {})
    if json_body is not None:
        body = json.dumps(json_body).encode()
        headers.setdefault("Content-Type", "application/json;charset=UTF-8")
    if isinstance(body, str):
        body = body.encode()
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with _opener.open(req, timeout=30) as resp:
            return RawResponse(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as e:
        return RawResponse(e.code, e.headers, e.read())


def expect_gateway_error(resp, expected):
    """Raw response must be the flat API-gateway envelope of docs/error-codes.md."""
    status, code, msg = expected
    assert resp.status == status, (resp.status, resp.body)
    body = resp.json()
    assert body.get("error_code") == code, body
    assert msg in body.get("error_msg", ""), body
    assert HEX32.match(resp.headers.get("X-Request-Id") or ""), dict(resp.headers)
    return body


def signed_headers(method, url, ak, sk, body=b"", headers=None, project_id=None, sdk_date=None):
    """Sign a request with the SDK's own Signer (SDK-HMAC-SHA256) and return the headers to send.
    `url` must already be canonical (sorted, RFC 3986-encoded query), as the SDK sends it.
    `sdk_date` (a datetime in UTC) forces X-Sdk-Date, e.g. for clock-skew tests."""
    parts = urlsplit(url)
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    if project_id:
        hdrs["X-Project-Id"] = project_id
    if sdk_date is not None:
        hdrs["X-Sdk-Date"] = sdk_date.strftime("%Y%m%dT%H%M%SZ")
    req = SdkRequest(method=method, schema=parts.scheme, host=parts.netloc, resource_path=parts.path,
                     query_params=parse_qsl(parts.query), header_params=hdrs, body=body)
    Signer(BasicCredentials(ak, sk)).sign(req)
    return dict(req.header_params)  # includes Host (with the port), exactly as signed


def password_token_body(user_name, password, domain_name="plugboard", project_name=None, project_id=None):
    scope = {"project": {"id": project_id} if project_id else {"name": project_name}}
    return {"auth": {"identity": {"methods": ["password"],
                                  "password": {"user": {"domain": {"name": domain_name},
                                                        "name": user_name, "password": password}}},
                     "scope": scope}}


def create_token(pb, user_name, password, project_name="local", nocatalog=False):
    url = pb.base_url + "/v3/auth/tokens" + ("?nocatalog=true" if nocatalog else "")
    return http("POST", url, json_body=password_token_body(user_name, password, project_name=project_name,
                                                           domain_name=pb.bootstrap["domain_name"]))


# -- IAM set-up through the SDK -----------------------------------------------------------------
@dataclass
class ProvisionedUser:
    user_id: str
    name: str
    password: str
    group_id: str
    role_id: str
    access_key: str
    secret_key: str


def _status(resp, expected, what):
    assert resp.status_code == expected, \
        f"{what} answered {resp.status_code}, spec says {expected}: {(resp.raw_content or b'')[:300]!r}"


def create_user(client, pb, name=None, password=None):
    name = name or unique("user")
    password = password or strong_password()
    resp = client.create_user(iam.CreateUserRequest(body=iam.CreateUserRequestBody(
        user=iam.CreateUserOption(name=name, domain_id=pb.bootstrap["domain_id"], password=password,
                                  enabled=True, description="sdk test user"))))
    _status(resp, 201, "CreateUser")
    user = resp.user
    assert HEX32.match(user.id), user
    assert (user.name, user.domain_id, user.enabled) == (name, pb.bootstrap["domain_id"], True)
    return user.id, name, password


def create_access_key(client, user_id):
    resp = client.create_permanent_access_key(iam.CreatePermanentAccessKeyRequest(
        body=iam.CreatePermanentAccessKeyRequestBody(
            credential=iam.CreateCredentialOption(user_id=user_id, description="sdk test key"))))
    _status(resp, 201, "CreatePermanentAccessKey")
    cred = resp.credential
    assert AK_RE.match(cred.access or ""), cred
    assert SK_RE.match(cred.secret or ""), "secret key must be 40 alphanumerics"
    assert (cred.status, cred.user_id) == ("active", user_id), cred
    return cred.access, cred.secret


def find_role(client, name):
    resp = client.keystone_list_permissions(iam.KeystoneListPermissionsRequest())
    _status(resp, 200, "KeystoneListPermissions")
    matches = [r for r in resp.roles or [] if r.name == name]
    assert len(matches) == 1, f"role {name!r} listed {len(matches)} times"
    assert HEX32.match(matches[0].id), matches[0]
    return matches[0].id


def provision_readonly_user(pb):
    """Admin, through the SDK: user (with password) → group → membership → `readonly` on the
    bootstrap project → permanent access key for the user."""
    admin = iam_global(pb)
    domain_id, project_id = pb.bootstrap["domain_id"], pb.bootstrap["project_id"]
    user_id, name, password = create_user(admin, pb)

    group_name = unique("readers")
    resp = admin.keystone_create_group(iam.KeystoneCreateGroupRequest(body=iam.KeystoneCreateGroupRequestBody(
        group=iam.KeystoneCreateGroupOption(name=group_name, domain_id=domain_id, description="sdk test group"))))
    _status(resp, 201, "KeystoneCreateGroup")
    assert HEX32.match(resp.group.id), resp.group
    assert (resp.group.name, resp.group.domain_id) == (group_name, domain_id)
    create_time = raw_json(resp)["group"].get("create_time")
    assert create_time is None or type(create_time) is int, "group create_time must be epoch ms (int)"
    group_id = resp.group.id

    resp = admin.keystone_add_user_to_group(iam.KeystoneAddUserToGroupRequest(group_id=group_id, user_id=user_id))
    _status(resp, 204, "KeystoneAddUserToGroup")

    role_id = find_role(admin, "readonly")
    resp = admin.keystone_associate_group_with_project_permission(
        iam.KeystoneAssociateGroupWithProjectPermissionRequest(project_id=project_id, group_id=group_id,
                                                               role_id=role_id))
    _status(resp, 204, "KeystoneAssociateGroupWithProjectPermission")

    ak, sk = create_access_key(admin, user_id)
    return ProvisionedUser(user_id, name, password, group_id, role_id, ak, sk)


# -- DBSS -----------------------------------------------------------------------------------------
DBSS_DB_ID = re.compile(r"^[A-Za-z0-9_-]{20}$")
DBSS_INVALID = "DBSS.10000001"         # 400 Enter a valid request message (names the field)
DBSS_LIMIT = "DBSS.10020118"           # 400 Failed to add database, exceeding the limit
DBSS_BAD_ID = "DBSS.10020021"          # 400 Invalid request parameter ID.
DBSS_NOT_FOUND = "DBSS.10021004"       # 404 audit instance or database not found
EDITION_LIMITS = {"entry": 1, "basic": 3, "professional": 6, "advanced": 30}


def dbss_client(pb, ak=None, sk=None, project_id=None):
    """DbssClient the way Huawei documents it: BasicCredentials(ak, sk, project_id) + endpoint.
    (The DBSS client accepts BasicCredentials only.)"""
    from huaweicloudsdkdbss.v1 import DbssClient
    boot = pb.bootstrap
    creds = BasicCredentials(ak or boot["access_key"], sk or boot["secret_key"], project_id or boot["project_id"])
    return DbssClient.new_builder().with_http_config(_config()).with_credentials(creds) \
        .with_endpoints([pb.base_url]).build()


def expect_dbss_error(resp, status, code, field=None):
    """Raw response must be the nested DBSS envelope `{"error": {"error_code", "error_msg"}}`."""
    assert resp.status == status, (resp.status, resp.body)
    body = resp.json()
    assert set(body) == {"error"}, f"DBSS errors are nested: {body}"
    assert body["error"].get("error_code") == code, body
    assert isinstance(body["error"].get("error_msg"), str) and body["error"]["error_msg"], body
    if field is not None:
        assert field in body["error"]["error_msg"], f"error_msg must name {field!r}: {body}"
    assert HEX32.match(resp.headers.get("X-Request-Id") or ""), dict(resp.headers)
    return body


def admin_token(pb, project_id=None):
    """A token of the bootstrap admin scoped to `project_id` (default: the bootstrap project)."""
    boot = pb.bootstrap
    resp = http("POST", pb.base_url + "/v3/auth/tokens?nocatalog=true", json_body=password_token_body(
        boot["user_name"], boot["password"], domain_name=boot["domain_name"],
        project_id=project_id or boot["project_id"]))
    assert resp.status == 201, resp.body
    return resp.headers["X-Subject-Token"]


def signed_call(pb, method, path, json_body=None, project_id=None, ak=None, sk=None):
    """Raw call signed with AK/SK (default: the bootstrap admin's) and X-Project-Id = project_id.
    `path` may carry a query string, which must already be canonical (sorted, encoded)."""
    boot = pb.bootstrap
    url = pb.base_url + path
    body = b"" if json_body is None else json.dumps(json_body).encode()
    headers = signed_headers(method, url, ak or boot["access_key"], sk or boot["secret_key"], body=body,
                             project_id=project_id or boot["project_id"])
    return http(method, url, headers=headers, body=body if json_body is not None else None)


def create_audit_instance(pb, project_id=None, name=None, edition=None, database_limit=None):
    """Plugboard admin API: POST /plugboard/v1/projects/{project_id}/dbss/instances → 201 view."""
    project_id = project_id or pb.bootstrap["project_id"]
    body = {"name": name or unique("audit")}
    if edition is not None:
        body["edition"] = edition
    if database_limit is not None:
        body["database_limit"] = database_limit
    if edition is None and database_limit is None:
        body["database_limit"] = 100
    resp = signed_call(pb, "POST", f"/plugboard/v1/projects/{project_id}/dbss/instances", body,
                       project_id=project_id)
    assert resp.status == 201, f"create audit instance answered {resp.status}: {resp.body[:300]!r}"
    view = resp.json()
    assert HEX32.match(view.get("id", "")), view
    return view


def create_sub_project(pb):
    """A second project in the bootstrap domain (the admin, domain owner, may use it)."""
    boot = pb.bootstrap
    resp = iam_global(pb).keystone_create_project(iam.KeystoneCreateProjectRequest(
        body=iam.KeystoneCreateProjectRequestBody(project=iam.KeystoneCreateProjectOption(
            name="local_" + secrets.token_hex(4), domain_id=boot["domain_id"], parent_id=boot["project_id"]))))
    _status(resp, 201, "KeystoneCreateProject")
    assert HEX32.match(resp.project.id), resp.project
    return resp.project.id
