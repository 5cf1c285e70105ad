"""The web console in a real browser (docs/console.md): sign in (and fail to), every section,
a kernel plug-in install and an add-on redeploy followed live on their job pages, a driver
deleted and the registry refreshed, a read-only user without actions, CSRF, headers,
accessibility (axe-core), no request leaving 127.0.0.1, sign out. Screenshots of every section
go to target/console-screenshots/ (docs/console/ with PLUGBOARD_SCREENSHOTS=docs/console)."""

import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import textwrap
import time

import pytest
from playwright.sync_api import expect

import pkgserver as pkgs
from consolehelpers import axe_violations, mark, shot, sign_in, sign_in_admin, still_marked
from sdkhelpers import create_audit_instance, http, provision_readonly_user, signed_call, unique

SUFFIX = secrets.token_hex(3)
PLUGIN = f"pbconsole_{SUFFIX}"
PG_CONFIG = os.environ.get("PLUGBOARD_TEST_PG_CONFIG") or shutil.which("pg_config") \
    or "/usr/lib/postgresql/15/bin/pg_config"
NAV = ["Overview", "GaussDB", "DBSS", "ServiceStage", "Drivers", "Jobs", "IAM"]
JOB_TIMEOUT_MS = 90_000


def pg_dirs():
    out = []
    for flag in ("--sharedir", "--pkglibdir"):
        out.append(subprocess.run([PG_CONFIG, flag], capture_output=True, text=True, check=True).stdout.strip())
    return out


def psql(sql, db="postgres"):
    res = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-X", "-tA",
                          "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


# -- fixtures -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    root = tmp_path_factory.mktemp("packages")
    server = pkgs.PackageServer(root)
    server.root = root
    yield server
    server.close()
    for root in pg_dirs():
        for dirpath, _, files in os.walk(root):
            for f in files:
                if SUFFIX in f:
                    os.unlink(os.path.join(dirpath, f))


@pytest.fixture(scope="module")
def pb(plugboard_launcher, packages):
    server = plugboard_launcher.start(config=f"""
[gaussdb]
supported_plugins = ["{PLUGIN}"]

[network]
allow = ["{packages.base}/"]
allow_private = true

[jobs]
poll_interval_ms = 100
""")
    yield server
    plugboard_launcher.finish(server)


@pytest.fixture(scope="module")
def instance(pb):
    pid = pb.bootstrap["project_id"]
    resp = signed_call(pb, "POST", f"/plugboard/v1/projects/{pid}/gaussdb/instances", {
        "name": unique("pg"), "host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "",
        "database": "postgres", "install": {"mode": "local", "pg_config": PG_CONFIG}})
    assert resp.status == 201, resp.body
    return resp.json()


@pytest.fixture(scope="module")
def audit(pb):
    return create_audit_instance(pb, name=unique("audit"))


def ss_path(pb, rest):
    return f"/v3/{pb.bootstrap['project_id']}/cas/environments{rest}"


def wait_addon(pb, env_id, addon_id, status="SUCCEEDED", timeout=60):
    deadline = time.time() + timeout
    while True:
        got = signed_call(pb, "GET", ss_path(pb, f"/{env_id}/addons/{addon_id}")).json()
        if got["status"] == status:
            return got
        assert time.time() < deadline, f"add-on still {got['status']} after {timeout}s"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def addon(pb):
    """An environment with a cluster and a `sermantInjector` add-on (the simulated driver)."""
    resp = signed_call(pb, "POST", ss_path(pb, ""), {"name": unique("env"), "vpc_id": "vpc-1"})
    assert resp.status == 200, resp.body
    env_id = resp.json()["id"]
    resp = signed_call(pb, "PUT", ss_path(pb, f"/{env_id}/resources"),
                       {"resources": [{"id": "cce-1", "type": "cce"}, {"id": "cse-1", "type": "cse"}]})
    assert resp.status == 200, resp.body
    resp = signed_call(pb, "POST", ss_path(pb, f"/{env_id}/addons"),
                       {"name": "sermantInjector", "cce_id": "cce-1", "cse_id": "cse-1"})
    assert resp.status == 200, resp.body
    addon_id = resp.json()["id"]
    wait_addon(pb, env_id, addon_id)
    return env_id, addon_id


def external_driver(pb, name):
    folder = pb.data_dir / "plugins" / name
    folder.mkdir(parents=True, exist_ok=True)
    h = secrets.token_hex(16)
    uuid = f"{h[:12]}4{h[13:16]}8{h[17:]}"  # UUID-shaped (version 4, variant 8), 32 hex
    (folder / "driver.toml").write_text(textwrap.dedent(f"""\
        uuid = "{uuid}"
        name = "{name}"
        type = "addon"
        executable = "driver"
        [[addons]]
        name = "{name}-addon"
        versions = ["1.0"]
        [steps]
        install = ["only"]
    """))
    exe = folder / "driver"
    exe.write_text("#!/bin/sh\ncat >/dev/null\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return uuid


# -- tests --------------------------------------------------------------------------------------------
def test_wrong_password_is_refused_in_words(pb, new_session):
    s = new_session(pb)
    page = s.page
    b = pb.bootstrap
    sign_in(page, b["domain_name"], b["user_name"], "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("wrong")
    expect(page.get_by_label("Account")).to_have_value(b["domain_name"])
    expect(page.get_by_label("User name")).to_have_value(b["user_name"])
    assert not [c for c in s.context.cookies() if c["name"] == "plugboard_console"]
    # An unknown user reads the same words.
    sign_in(page, b["domain_name"], "nobody-" + SUFFIX, "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("wrong")
    shot(page, "signin")


def test_every_section_headers_and_accessibility(pb, new_session, instance, audit, addon):
    s = new_session(pb, bypass_csp=True)  # axe-core is injected as a script; the CSP is checked below
    page = s.page
    sign_in_admin(page, pb)
    cookie = [c for c in s.context.cookies() if c["name"] == "plugboard_console"][0]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    for name in NAV:
        page.get_by_role("navigation", name="Sections").get_by_role("link", name=name, exact=True).click()
        expect(page.get_by_role("link", name=name, exact=True)).to_have_attribute("aria-current", "page")
        resp = page.request.get(page.url)
        assert resp.status == 200, (name, resp.status)
        h = resp.headers
        csp = h["content-security-policy"]
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp and "frame-ancestors 'none'" in csp
        assert h["x-content-type-options"] == "nosniff" and h["referrer-policy"] == "same-origin"
        assert len(resp.body()) < 150 * 1024
        assert axe_violations(page) == [], name
        shot(page, name.lower())
    # Deep links of objects.
    pid = pb.bootstrap["project_id"]
    page.goto(f"/console/gaussdb/{pid}/{instance['id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(instance["name"])
    page.goto(f"/console/dbss/{pid}/{audit['id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(audit["name"])
    page.goto(f"/console/servicestage/{pid}/{addon[0]}/addons/{addon[1]}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("sermantInjector")
    page.goto("/console/drivers")
    page.get_by_role("link", name="postgresql-package-installer").click()
    expect(page).to_have_url(re.compile(r"/console/drivers/[0-9a-f]{32}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("postgresql-package-installer")
    assert axe_violations(page) == []
    # The licence state, read back (never the licence itself).
    page.goto(f"/console/gaussdb/{pid}/{instance['id']}")
    expect(page.locator("#licence-state")).to_contain_text("No plug-in licence is stored")
    page.get_by_label("Licence text").fill("licence-" + SUFFIX)
    page.get_by_role("button", name="Set licence").click()
    expect(page.locator("#licence-state")).to_contain_text("A plug-in licence is stored")
    assert "licence-" + SUFFIX not in page.content()
    # The activity view of failures.
    page.get_by_role("link", name="Overview", exact=True).click()
    page.get_by_role("link", name=re.compile(r"^All failures")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Failures")
    page.get_by_label("Window").select_option("WEEK")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", level=2).first).to_contain_text("Last 7 days")
    assert axe_violations(page) == []
    shot(page, "activity")


def test_install_plugin_job_page_reaches_completed_live(pb, new_session, packages, instance):
    path = packages.root / f"{PLUGIN}.tar.gz"
    files = pkgs.extension_files(PLUGIN)
    files[f"share/extension/{PLUGIN}--pad.sql"] = os.urandom(512 * 1024)  # 8 slow chunks
    pkgs.build_package(path, files)
    url, sha = f"{packages.base}/slow/250/{path.name}", pkgs.sha256_file(path)
    s = new_session(pb)
    page = s.page
    sign_in_admin(page, pb)
    page.get_by_role("link", name="GaussDB", exact=True).click()
    page.get_by_role("link", name=instance["name"]).click()
    page.get_by_label("Plug-in name").fill(PLUGIN)
    page.get_by_label("Package URL").fill(url)
    page.get_by_label("SHA-256").fill(sha)
    page.get_by_role("button", name="Install", exact=True).click()
    expect(page).to_have_url(re.compile(r"/console/jobs/[0-9a-f-]{36}$"))
    mark(page)
    expect(page.locator("#job-state")).to_have_text("Running")
    expect(page.locator("#job-state")).to_have_text("Completed", timeout=JOB_TIMEOUT_MS)
    assert still_marked(page), "the job page reloaded instead of updating in place"
    shot(page, "job")
    # The plug-in's extension, switched on and off in a database of the instance.
    db = f"pbcdb_{SUFFIX}"
    psql(f"CREATE DATABASE {db}")
    try:
        page.get_by_role("link", name="GaussDB", exact=True).click()
        page.get_by_role("link", name=instance["name"]).click()
        page.get_by_role("link", name=PLUGIN).click()
        page.get_by_label("Database").fill(db)
        page.get_by_role("button", name="Show").click()
        row = page.get_by_role("row").filter(has_text=PLUGIN)
        expect(row).to_contain_text("off")
        row.get_by_role("button", name=f"Switch {PLUGIN} on").click()
        expect(page.get_by_role("row").filter(has_text=PLUGIN)).to_contain_text("on")
        assert psql(f"SELECT count(*) FROM pg_extension WHERE extname = '{PLUGIN}'", db) == "1"
        page.get_by_role("row").filter(has_text=PLUGIN).get_by_role("button", name=f"Switch {PLUGIN} off").click()
        expect(page.get_by_role("row").filter(has_text=PLUGIN)).to_contain_text("off")
    finally:
        psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    page.get_by_role("link", name="Jobs", exact=True).click()
    page.get_by_label("Family").select_option("GaussDB")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("cell", name="Completed").first).to_be_visible()


def test_redeploy_addon_goes_to_succeeded_live(pb, new_session, addon):
    env_id, addon_id = addon
    folder = pb.data_dir / "plugins" / "simulated"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "simulated.toml").write_text("step_delay_ms = 700\n")
    try:
        s = new_session(pb)
        page = s.page
        sign_in_admin(page, pb)
        page.get_by_role("link", name="ServiceStage", exact=True).click()
        page.locator(f"a[href$='/{env_id}']").click()
        page.get_by_role("button", name="Redeploy", exact=True).click()
        expect(page).to_have_url(re.compile(r"/console/jobs/"))
        mark(page)
        expect(page.locator("#job-state")).to_have_text(re.compile("SUBMITTED|RUNNING"))
        expect(page.locator("#job-state")).to_have_text("SUCCEEDED", timeout=JOB_TIMEOUT_MS)
        assert still_marked(page), "the job page reloaded instead of updating in place"
    finally:
        (folder / "simulated.toml").write_text("")


def test_delete_and_refresh_a_driver(pb, new_session, instance):
    name = f"pbdrv{SUFFIX}"
    uuid = external_driver(pb, name)
    s = new_session(pb)
    page = s.page
    sign_in_admin(page, pb)
    page.get_by_role("link", name="Drivers", exact=True).click()
    page.get_by_role("button", name="Refresh").click()
    expect(page.get_by_role("status")).to_contain_text("refreshed")
    row = page.locator(f"#driver-{uuid}")
    expect(row).to_contain_text(name)
    row.get_by_label(f"Delete mode for {name}").select_option("Permissive")
    row.get_by_role("button", name=f"Delete {name}").click()
    expect(page).to_have_url(re.compile(r"/console/jobs/"))
    expect(page.locator("#job-state")).to_have_text("Succeeded", timeout=JOB_TIMEOUT_MS)
    page.get_by_role("link", name="Drivers", exact=True).click()
    expect(page.locator(f"#driver-{uuid}")).to_contain_text("deleted")
    # Permissive is refused while something uses the driver: the built-in package installer
    # serves the GaussDB instance registered by the other tests; its job fails saying so.
    builtin = page.locator("tr", has_text="postgresql-package-installer")
    builtin.get_by_label("Delete mode for postgresql-package-installer").select_option("Permissive")
    builtin.get_by_role("button", name="Delete postgresql-package-installer").click()
    expect(page.locator("#job-state")).to_have_text("Failed", timeout=JOB_TIMEOUT_MS)
    expect(page.locator("#job-live")).to_contain_text("is still used by 1 GaussDB instances")
    page.get_by_role("link", name="Drivers", exact=True).click()
    expect(page.locator("tr", has_text="postgresql-package-installer")).not_to_contain_text("deleted")


def test_audited_database_added_switched_and_deleted(pb, new_session, audit):
    s = new_session(pb)
    page = s.page
    sign_in_admin(page, pb)
    page.get_by_role("link", name="DBSS", exact=True).click()
    page.get_by_role("link", name=audit["name"]).click()
    name = f"shop_{SUFFIX}"
    page.get_by_label("Classification").select_option("ECS")
    page.get_by_label("Database name").fill(name)
    page.get_by_label("Database type").select_option("MYSQL")
    page.get_by_label("Version").fill("10.11")
    page.get_by_label("Character set").select_option("UTF8")
    page.get_by_label("IP address").fill("127.0.0.1")
    page.get_by_label("Port").fill("3306")
    page.get_by_label("Operating system").select_option("LINUX64")
    page.get_by_role("button", name="Add database").click()
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("OFF")
    row.get_by_role("button", name=f"Switch audit on for {name}").click()
    expect(page.get_by_role("row").filter(has_text=name)).to_contain_text("ON")
    page.get_by_role("row").filter(has_text=name).get_by_role("button", name=f"Delete {name}").click()
    expect(page.get_by_role("row").filter(has_text=name)).to_have_count(0)


def test_readonly_user_browses_without_actions(pb, new_session, instance, addon, audit):
    ro = provision_readonly_user(pb)
    s = new_session(pb)
    page = s.page
    sign_in(page, pb.bootstrap["domain_name"], ro.name, ro.password)
    expect(page.get_by_role("navigation", name="Sections")).to_be_visible()
    pid = pb.bootstrap["project_id"]
    for path in ["/console/", "/console/gaussdb", f"/console/gaussdb/{pid}/{instance['id']}",
                 "/console/servicestage", f"/console/servicestage/{pid}/{addon[0]}", "/console/jobs",
                 "/console/dbss", f"/console/dbss/{pid}/{audit['id']}", "/console/iam", "/console/activity"]:
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        enabled = page.locator("main button:enabled")
        names = [t for t in enabled.all_inner_texts() if t not in ("Filter", "Create access key")]
        assert names == [], (path, names)
    page.goto(f"/console/gaussdb/{pid}/{instance['id']}")
    expect(page.get_by_text(instance["name"]).first).to_be_visible()
    assert page.get_by_role("button", name="Install", exact=True).count() == 0
    # A crafted POST with the session's own CSRF token is refused with the API's words.
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    resp = page.request.post(f"/console/gaussdb/{pid}/{instance['id']}/install",
                             form={"csrf": csrf, "plugin_name": PLUGIN, "url": "http://127.0.0.1:1/x",
                                   "sha_256": "0" * 64})
    assert resp.status == 403
    assert "APIG.0302" in resp.text()
    # The user's password changes: the session ends.
    resp = signed_call(pb, "PUT", f"/v3.0/OS-USER/users/{ro.user_id}",
                       {"user": {"password": "Another-Passw0rd-" + SUFFIX}})
    assert resp.status == 200, resp.body
    page.goto("/console/")
    expect(page).to_have_url(re.compile(r"/console/signin$"))


def test_post_without_csrf_changes_nothing(pb, new_session, addon):
    env_id, addon_id = addon
    before = signed_call(pb, "GET", ss_path(pb, f"/{env_id}/addons/{addon_id}")).json()
    s = new_session(pb)
    page = s.page
    sign_in_admin(page, pb)
    pid = pb.bootstrap["project_id"]
    for form in ({}, {"csrf": "0" * 64}):
        resp = page.request.post(f"/console/servicestage/{pid}/{env_id}/addons/{addon_id}/redeploy", form=form)
        assert resp.status == 403, resp.status
        assert "CSRF" in resp.text()
    after = signed_call(pb, "GET", ss_path(pb, f"/{env_id}/addons/{addon_id}")).json()
    assert after["job_id"] == before["job_id"]


def test_access_key_secret_shown_once_and_sign_out(pb, new_session):
    s = new_session(pb)
    page = s.page
    sign_in_admin(page, pb)
    page.get_by_role("link", name="IAM", exact=True).click()
    page.get_by_label("Description").fill("console test key")
    page.get_by_role("button", name="Create access key").click()
    secret = page.locator("#new-secret").inner_text()
    assert re.fullmatch(r"[A-Za-z0-9]{40}", secret), secret
    page.get_by_role("link", name="IAM", exact=True).click()
    assert secret not in page.content()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/signin$"))
    page.goto("/console/jobs")
    expect(page).to_have_url(re.compile(r"/console/signin$"))
