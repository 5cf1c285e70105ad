"""IAM through the official Python SDK (huaweicloudsdkiam): regions (KeystoneListRegions,
KeystoneShowRegion), the groups of a user (KeystoneListGroupsForUser) and UpdateUser's
name, email and description — answers, envelopes and who may call them.

Contract: docs/api-coverage.md (IAM), docs/error-codes.md (IAM).
"""

import json

from huaweicloudsdkiam.v3 import model as iam

from sdkhelpers import (
    FORBIDDEN, HEX32, admin_token, create_user, expect_sdk_error, http, iam_basic,
    iam_global, iam_token, provision_readonly_user, raw_json, unique,
)

REGION_KEYS = {"id", "type", "description", "parent_region_id", "locales", "links"}


def unscoped_token(pb, name, password):
    """An unscoped password token (no project: a user with no role anywhere gets one too)."""
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "domain": {"name": pb.bootstrap["domain_name"]}, "name": name, "password": password}}}}}
    return http("POST", pb.base_url + "/v3/auth/tokens?nocatalog=true", json_body=body)


def keystone_error(resp, status, message):
    """A raw answer in Keystone's envelope."""
    assert resp.status == status, resp.body
    body = json.loads(resp.body)
    assert set(body) == {"error"} and body["error"]["code"] == status, body
    assert message in body["error"]["message"], body
    return body


def test_regions_list_and_show(plugboard):
    boot = plugboard.bootstrap
    client = iam_global(plugboard)
    resp = client.keystone_list_regions(iam.KeystoneListRegionsRequest())
    assert resp.status_code == 200
    body = raw_json(resp)
    assert set(body) == {"regions", "links"}
    assert body["links"] == {"self": f"{boot['endpoint']}/v3/regions", "previous": None, "next": None}
    assert body["regions"] == [{
        "id": boot["region"], "type": "public", "description": "", "parent_region_id": None,
        "locales": {"zh-cn": boot["region"], "en-us": boot["region"]},
        "links": {"self": f"{boot['endpoint']}/v3/regions/{boot['region']}"},
    }]
    assert [(r.id, r.type, r.locales.en_us) for r in resp.regions] == [(boot["region"], "public", boot["region"])]

    shown = client.keystone_show_region(iam.KeystoneShowRegionRequest(region_id=boot["region"]))
    assert shown.status_code == 200
    assert raw_json(shown) == {"region": body["regions"][0]}

    # another region: Keystone's 404 naming it; a token works as well as a signature
    token = admin_token(plugboard)
    missing = http("GET", f"{plugboard.base_url}/v3/regions/cn-north-4", headers={"X-Auth-Token": token})
    keystone_error(missing, 404, "cn-north-4")
    assert http("GET", f"{plugboard.base_url}/v3/regions").status == 401  # credentials needed


def test_regions_need_no_permission(plugboard):
    """Any authenticated caller lists regions: a user with no role at all."""
    admin = iam_global(plugboard)
    _, name, password = create_user(admin, plugboard)
    created = unscoped_token(plugboard, name, password)
    assert created.status == 201, created.body
    token = created.headers["X-Subject-Token"]
    resp = iam_token(plugboard, token).keystone_list_regions(iam.KeystoneListRegionsRequest())
    assert [r.id for r in resp.regions] == [plugboard.bootstrap["region"]]


def test_groups_of_a_user(plugboard):
    admin = iam_global(plugboard)
    user = provision_readonly_user(plugboard)
    second = admin.keystone_create_group(iam.KeystoneCreateGroupRequest(body=iam.KeystoneCreateGroupRequestBody(
        group=iam.KeystoneCreateGroupOption(name=unique("aaa"), domain_id=plugboard.bootstrap["domain_id"]))))
    admin.keystone_add_user_to_group(iam.KeystoneAddUserToGroupRequest(group_id=second.group.id,
                                                                       user_id=user.user_id))

    resp = admin.keystone_list_groups_for_user(iam.KeystoneListGroupsForUserRequest(user_id=user.user_id))
    assert resp.status_code == 200
    body = raw_json(resp)
    assert set(body) == {"groups", "links"}
    assert body["links"]["self"].endswith(f"/v3/users/{user.user_id}/groups")
    assert [g["id"] for g in body["groups"]] == [second.group.id, user.group_id]  # by name
    for g in body["groups"]:
        assert set(g) == {"id", "name", "domain_id", "description", "create_time", "links"}, g
        assert type(g["create_time"]) is int and g["links"]["self"].endswith(f"/v3/groups/{g['id']}")

    # `readonly` (the user's group's role) allows iam:users:listGroupsForUser on the project
    reader = iam_basic(plugboard, user.access_key, user.secret_key, plugboard.bootstrap["project_id"])
    mine = reader.keystone_list_groups_for_user(iam.KeystoneListGroupsForUserRequest(user_id=user.user_id))
    assert sorted(g.id for g in mine.groups) == sorted([second.group.id, user.group_id])
    # a user with no role lists their own groups (none), not another's
    loner_id, loner, loner_password = create_user(admin, plugboard)
    loner_token = unscoped_token(plugboard, loner, loner_password).headers["X-Subject-Token"]
    own = iam_token(plugboard, loner_token)
    assert own.keystone_list_groups_for_user(iam.KeystoneListGroupsForUserRequest(user_id=loner_id)).groups == []
    expect_sdk_error(lambda: own.keystone_list_groups_for_user(
        iam.KeystoneListGroupsForUserRequest(user_id=user.user_id)), FORBIDDEN)

    token = admin_token(plugboard)
    bad = http("GET", f"{plugboard.base_url}/v3/users/nope/groups", headers={"X-Auth-Token": token})
    keystone_error(bad, 400, "user_id `nope`")
    gone = http("GET", f"{plugboard.base_url}/v3/users/{'0' * 32}/groups", headers={"X-Auth-Token": token})
    keystone_error(gone, 404, "user")


def test_update_user_name_email_description(plugboard):
    admin = iam_global(plugboard)
    user_id, name, password = create_user(admin, plugboard)
    token = unscoped_token(plugboard, name, password).headers["X-Subject-Token"]

    new_name = unique("renamed")
    resp = admin.update_user(iam.UpdateUserRequest(user_id=user_id, body=iam.UpdateUserRequestBody(
        user=iam.UpdateUserOption(name=new_name, email="ops@example.com", description="on call"))))
    assert resp.status_code == 200
    assert (resp.user.id, resp.user.name, resp.user.email, resp.user.description, resp.user.enabled) == \
        (user_id, new_name, "ops@example.com", "on call", True)
    shown = admin.keystone_show_user(iam.KeystoneShowUserRequest(user_id=user_id)).user
    assert (shown.name, shown.description) == (new_name, "on call")
    # a profile change leaves the user's tokens alone
    assert iam_token(plugboard, token).keystone_list_regions(iam.KeystoneListRegionsRequest()).status_code == 200
    # the new name signs in, the old one no longer does
    assert unscoped_token(plugboard, new_name, password).status == 201
    assert unscoped_token(plugboard, name, password).status == 401

    # empty clears, absent keeps
    resp = admin.update_user(iam.UpdateUserRequest(user_id=user_id, body=iam.UpdateUserRequestBody(
        user=iam.UpdateUserOption(description=""))))
    assert (resp.user.description, resp.user.email) == ("", "ops@example.com")

    base, admin_tok = plugboard.base_url, admin_token(plugboard)
    path = f"{base}/v3.0/OS-USER/users/{user_id}"
    headers = {"X-Auth-Token": admin_tok}
    for body, status, message in [
        ({"user": {"description": "x" * 256}}, 400, "user.description must be at most 255 characters"),
        ({"user": {"email": "not-an-address"}}, 400, "user.email must be an e-mail address"),
        ({"user": {"phone": "123"}}, 400, "phone"),
        ({"user": {"name": plugboard.bootstrap["user_name"]}}, 409, "user name"),
    ]:
        keystone_error(http("PUT", path, headers=headers, json_body=body), status, message)
    assert admin.keystone_show_user(iam.KeystoneShowUserRequest(user_id=user_id)).user.name == new_name
    assert HEX32.match(user_id)
