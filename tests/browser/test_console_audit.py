"""The DBSS audit pages of the web console in a real browser (docs/console.md → DBSS): statements
fed through the agent endpoint (signed HTTP, the body `plugboard dbss-agent` sends) are read in
the SQL audit log, a filter narrows them, a HIGH one is highlighted in words and its detail page
opens by its own URL; a risk rule is switched off and on; the alarm the HIGH statement raised is
marked confirmed; the console's own 404 page. Screenshots go with the others
(target/console-screenshots/, docs/console/ with PLUGBOARD_SCREENSHOTS=docs/console)."""

import re
import secrets
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from consolehelpers import axe_violations, shot, sign_in, sign_in_admin
from sdkhelpers import create_audit_instance, provision_readonly_user, signed_call, unique

MARK = "m" + secrets.token_hex(4)
INJECTION = "SQL_Injection_Tautology"


@pytest.fixture(scope="module")
def pb(plugboard_launcher):
    server = plugboard_launcher.start(config="")
    yield server
    plugboard_launcher.finish(server)


def now():
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def audited(pb):
    """An audit instance with one database and one agent, and three statements it shipped:
    a plain read by `app`, an update by `batch`, and a tautology (HIGH) by `app`."""
    pid = pb.bootstrap["project_id"]
    inst = create_audit_instance(pb, name=unique("audit"), database_limit=5)
    iid = inst["id"]
    resp = signed_call(pb, "POST", f"/v2/{pid}/audit/{iid}/databases", {"database": {
        "db_classification": "ECS", "name": "orders", "type": "POSTGRESQL", "version": "15", "charset": "UTF8",
        "ip": "127.0.0.1", "port": "5432", "os": "LINUX64"}})
    assert resp.status == 200, resp.body
    db_id = resp.json()["id"]
    resp = signed_call(pb, "POST", f"/v3/{pid}/audit/{iid}/databases/switch", {"id": db_id, "status": "ON"})
    assert resp.status == 200, resp.body
    resp = signed_call(pb, "POST", f"/v3/{pid}/audit/{iid}/agents", {
        "db_id": db_id, "mode": 0, "agent_type": "DB", "agent_os": "LINUX64_X86"})
    assert resp.status == 200, resp.body
    resp = signed_call(pb, "GET", f"/v3/{pid}/audit/{iid}/agents?db_id={db_id}")
    assert resp.status == 200, resp.body
    agent_id = resp.json()["agents"][0]["agent_id"]
    statements = [
        ("app", "SELECT", f"select id from account where id = 7 /* {MARK} plain */"),
        ("batch", "UPDATE", f"update account set seen = true where id = 7 /* {MARK} update */"),
        ("app", "SELECT", f"select * from account where name = '' or 1=1 /* {MARK} tautology */"),
    ]
    events = [{"seq": n + 1, "ts": now(), "kind": "QUERY", "session": "s1", "user": user, "database": "orders",
               "client_ip": "10.0.0.7", "client_port": 51514, "application": "psql", "command": command,
               "sql": sql, "rows": 1, "duration_ms": 2.5, "result": "SUCCESS", "code": "00000"}
              for n, (user, command, sql) in enumerate(statements)]
    path = f"/v1/{pid}/audit/{iid}/agents/{agent_id}/statements"
    resp = signed_call(pb, "POST", path, {"batch_id": MARK, "db_id": db_id, "events": events})
    assert resp.status == 200 and resp.json()["accepted"] == 3, resp.body
    return {"project": pid, "id": iid, "name": inst["name"], "db_id": db_id}


def rows_with_mark(page):
    return page.locator("table.audit tbody tr").filter(has_text=MARK)


def test_audit_log_filters_highlights_and_opens_a_statement(pb, new_session, audited):
    s = new_session(pb, bypass_csp=True)  # axe-core is injected as a script
    page = s.page
    sign_in_admin(page, pb)
    page.get_by_role("link", name="DBSS", exact=True).click()
    page.get_by_role("link", name=audited["name"]).click()
    page.get_by_role("navigation", name="Audit instance").get_by_role("link", name="SQL audit log").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(audited["name"])
    expect(rows_with_mark(page)).to_have_count(3)
    assert axe_violations(page) == []
    shot(page, "dbss-audit-log")
    # The database filter (the instance's databases by name and address).
    page.get_by_label("Database", exact=True).select_option(label="orders (127.0.0.1:5432)")
    page.get_by_role("button", name="Filter").click()
    expect(rows_with_mark(page)).to_have_count(3)
    assert f"db={audited['db_id']}" in page.url
    resp = page.request.get(f"/console/dbss/{audited['project']}/{audited['id']}/audit?db=nosuchdatabase000000")
    assert resp.status == 400 and "nosuchdatabase000000" in resp.text(), resp.status
    # A filter narrows the list: the user `batch` made one of them.
    page.get_by_label("Database user").fill("batch")
    page.get_by_role("button", name="Filter").click()
    expect(rows_with_mark(page)).to_have_count(1)
    expect(rows_with_mark(page)).to_contain_text("update account")
    # The HIGH one, by the risk filter and the statement text: its level in words, its row marked.
    page.get_by_label("Database user").fill("")
    page.get_by_label("Risk level").select_option("HIGH")
    page.get_by_label("Statement contains").fill(MARK)
    page.get_by_role("button", name="Filter").click()
    high = rows_with_mark(page)
    expect(high).to_have_count(1)
    expect(high).to_contain_text("or 1=1")
    expect(high.get_by_role("cell", name="HIGH", exact=True)).to_be_visible()
    expect(high).to_contain_text(INJECTION)
    expect(high).to_have_class(re.compile(r"\brisk-row-HIGH\b"))
    # The filters travel in the URL, so a filtered list is a link too.
    assert "risk=HIGH" in page.url and f"text={MARK}" in page.url
    # Its detail page, a deep link.
    high.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/console/dbss/{audited['project']}/{audited['id']}/audit/[A-Za-z0-9_-]{{16,64}}$"))
    expect(page.locator("pre.sql")).to_contain_text("or 1=1")
    expect(page.locator("dl.detail")).to_contain_text(INJECTION)
    expect(page.locator("dl.detail")).to_contain_text("HIGH")
    detail_url = page.url
    assert axe_violations(page) == []
    shot(page, "dbss-statement")
    page.goto("/console/")
    page.goto(detail_url)
    expect(page.locator("pre.sql")).to_contain_text("or 1=1")
    # Bad filter input: a 400 page naming the problem, the filters still there.
    resp = page.request.get(f"/console/dbss/{audited['project']}/{audited['id']}/audit?start=yesterday&end=today")
    assert resp.status == 400 and "start_time" in resp.text(), resp.status


def test_risk_rule_switched_off_and_on(pb, new_session, audited):
    s = new_session(pb, bypass_csp=True)
    page = s.page
    sign_in_admin(page, pb)
    page.goto(f"/console/dbss/{audited['project']}/{audited['id']}/rules")
    row = page.get_by_role("row").filter(has_text=INJECTION)
    expect(row).to_contain_text("ON")
    assert axe_violations(page) == []
    shot(page, "dbss-rules")
    row.get_by_role("button", name=f"Switch {INJECTION} off").click()
    expect(page.get_by_role("row").filter(has_text=INJECTION)).to_contain_text("OFF")
    listed = signed_call(pb, "POST", f"/v1/{audited['project']}/audit/{audited['id']}/rule/sqls", {})
    assert [r["status"] for r in listed.json()["rules"] if r["name"] == INJECTION] == ["OFF"], listed.body
    page.get_by_role("row").filter(has_text=INJECTION).get_by_role("button", name=f"Switch {INJECTION} on").click()
    expect(page.get_by_role("row").filter(has_text=INJECTION)).to_contain_text("ON")
    listed = signed_call(pb, "POST", f"/v1/{audited['project']}/audit/{audited['id']}/rule/sqls", {})
    assert [r["status"] for r in listed.json()["rules"] if r["name"] == INJECTION] == ["ON"], listed.body


def test_alarm_of_the_high_statement_is_marked(pb, new_session, audited):
    s = new_session(pb, bypass_csp=True)
    page = s.page
    sign_in_admin(page, pb)
    page.goto(f"/console/dbss/{audited['project']}/{audited['id']}")
    page.get_by_role("navigation", name="Audit instance").get_by_role("link", name="Alarms").click()
    row = page.get_by_role("row").filter(has_text=INJECTION)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("HIGH")
    expect(row).to_contain_text("UNDO")
    assert axe_violations(page) == []
    shot(page, "dbss-alarms")
    row.get_by_role("button", name=re.compile("^Mark alarm")).click()
    row = page.get_by_role("row").filter(has_text=INJECTION)
    expect(row).to_contain_text("DONE")
    expect(row.get_by_role("button")).to_have_count(0)
    listed = signed_call(pb, "POST", f"/v2/{audited['project']}/audit/{audited['id']}/alarm-log",
                         {"time": {"time_range": "DAY"}, "status": "DONE"})
    assert listed.json()["total_num"] == 1, listed.body


def test_readonly_user_reads_the_audit_pages_without_actions(pb, new_session, audited):
    ro = provision_readonly_user(pb)
    s = new_session(pb)
    page = s.page
    sign_in(page, pb.bootstrap["domain_name"], ro.name, ro.password)
    base = f"/console/dbss/{audited['project']}/{audited['id']}"
    for path in [f"{base}/audit", f"{base}/rules", f"{base}/alarms", f"{base}/databases/{audited['db_id']}"]:
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        names = [t for t in page.locator("main button:enabled").all_inner_texts() if t != "Filter"]
        assert names == [], (path, names)
    expect(page.get_by_role("heading", level=1)).to_contain_text("orders")
    # A crafted switch with the session's own CSRF token: refused with the API's words.
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    listed = signed_call(pb, "POST", f"/v1/{audited['project']}/audit/{audited['id']}/rule/sqls", {})
    rule = [r["id"] for r in listed.json()["rules"] if r["name"] == INJECTION][0]
    resp = page.request.post(f"{base}/rules/sql/{rule}/off", form={"csrf": csrf})
    assert resp.status == 403 and "APIG.0302" in resp.text(), resp.status
    listed = signed_call(pb, "POST", f"/v1/{audited['project']}/audit/{audited['id']}/rule/sqls", {})
    assert [r["status"] for r in listed.json()["rules"] if r["name"] == INJECTION] == ["ON"]


def test_unknown_console_paths_answer_the_consoles_404(pb, new_session):
    s = new_session(pb)
    page = s.page
    # Not signed in: the console's page, not the API's JSON.
    resp = page.request.get("/console/no-such-page")
    assert resp.status == 404 and resp.headers["content-type"].startswith("text/html"), resp.headers
    assert "APIG.0101" not in resp.text() and "Page not found" in resp.text()
    assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
    # Signed in: the same, inside the console's frame.
    sign_in_admin(page, pb)
    resp = page.goto("/console/gaussdb/nope/nope/nope/nope")
    assert resp.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_role("navigation", name="Sections")).to_be_visible()
    # A form's address asked with GET: the console's words too.
    resp = page.request.get("/console/signout")
    assert resp.status == 405 and resp.headers["content-type"].startswith("text/html")
