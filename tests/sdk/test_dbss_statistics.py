"""DBSS audit statistics, the QPS budget and the health alarms (docs/dbss-audit.md → Statistics, The QPS
budget, Alarms), driven by the official SDK (huaweicloudsdkdbss) with every answer's JSON pinned.

Statements are posted to the ingest endpoint signed with AK/SK as the agent posts them, stamped with their
own times (some hours and days in the past: statistics are keyed by the statement's time, not its arrival),
and, for the budget, shipped by a real `plugboard dbss-agent` under a tiny budget: delayed, never dropped.
Servers with small thresholds come from `[dbss]` settings (audit_qps_limit, audit_qps_overflow_seconds,
agent_silence_seconds), not from a test-only path.

Fixtures: audithelpers.py, dbsshelpers.py.
"""

import time
from datetime import datetime, timedelta, timezone

import pytest
from huaweicloudsdkdbss.v1 import model as dbss

from sdkhelpers import create_audit_instance, create_sub_project, dbss_client, expect_dbss_error, raw_json, \
    signed_call, expect_sdk_error
from dbsshelpers import PROBE_CONFIG, client, pb  # noqa: F401 - fixtures
from audithelpers import add_agent, add_database, agents, list_agents, list_sqls, marker, switch_agent, wait_sqls, \
    write_jsonl

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
INVALID = "DBSS.10000001"
NOT_FOUND = "DBSS.10021004"
FMT = "%Y-%m-%d %H:%M:%S"
MIN = 60
SIZES = {"HALF_HOUR": (30, MIN), "HOUR": (30, 2 * MIN), "THREE_HOUR": (18, 10 * MIN), "TWELVE_HOUR": (24, 30 * MIN),
         "DAY": (24, 3600), "WEEK": (28, 6 * 3600), "MONTH": (30, 86400)}


def ingest_path(pb, instance_id, agent_id, what="statements"):
    return f"/v1/{pb.bootstrap['project_id']}/audit/{instance_id}/agents/{agent_id}/{what}"


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def event(seq, at, sql="select 1", **extra):
    e = {"seq": seq, "ts": stamp(at), "kind": "QUERY", "session": "s1", "user": "app", "database": "orders",
         "client_ip": "10.0.0.7", "client_port": 5000, "application": "psql", "command": "SELECT", "sql": sql,
         "result": "SUCCESS"}
    e.update(extra)
    return e


def post(pb, instance, agent_id, db_id, batch_id, events):
    resp = signed_call(pb, "POST", ingest_path(pb, instance, agent_id), {"batch_id": batch_id, "db_id": db_id,
                                                                       "events": events})
    assert resp.status == 200, resp.body
    return resp.json()


def epoch(s):
    return int(datetime.strptime(s, FMT).replace(tzinfo=timezone.utc).timestamp())


def wire(ts):
    return datetime.fromtimestamp(ts, timezone.utc).strftime(FMT)


def periods(generate_time, range_name):
    """The bucket starts a `time_range` trend must have: ending with the bucket holding generate_time."""
    n, size = SIZES[range_name]
    last = epoch(generate_time) // size * size
    return [wire(last - (n - 1 - i) * size) for i in range(n)]


def general(db_id=None, time_range=None, start=None, end=None, regenerate=None):
    t = dbss.Duration(time_range=time_range, start_time=start, end_time=end)
    return dbss.GeneralRequest(db_id=db_id, regenerate=regenerate, time=t)


TRENDS = [  # SDK method, request class, list key, item keys
    ("count_sql_statistics", dbss.CountSqlStatisticsRequest, "sql_statistics",
     ["select_num", "insert_num", "update_num", "delete_num", "other_num"]),
    ("count_sql_trend_statistics", dbss.CountSqlTrendStatisticsRequest, "count_statistics", ["sql_num"]),
    ("count_risk_trend_statistics", dbss.CountRiskTrendStatisticsRequest, "risk_statistics",
     ["high_risk_num", "middle_risk_num", "low_risk_num", "no_risk_num"]),
    ("count_session_statistics", dbss.CountSessionStatisticsRequest, "session_statistics",
     ["new_session_num", "active_session_num", "fail_session_num"]),
    ("count_injection_statistics", dbss.CountInjectionStatisticsRequest, "injection_statistics", ["injection_num"]),
    ("count_operation_statistics", dbss.CountOperationStatisticsRequest, "operation_statistics",
     ["risk_operation_num"]),
]


def trend(client, instance, which, body):
    method, cls, key, keys = next(t for t in TRENDS if t[0] == which)
    raw = raw_json(getattr(client, method)(cls(instance_id=instance, body=body)))
    assert set(raw) == {"status", "generate_time", key}, raw
    assert raw["status"] == "FINISHED", raw
    datetime.strptime(raw["generate_time"], FMT)
    for item in raw[key]:
        assert set(item) == {"period", *keys}, item
        assert all(type(item[k]) is int for k in keys), item
    return raw, key


def nonzero(raw, key):
    """{period: item without period} of the buckets with a count."""
    return {i["period"]: {k: v for k, v in i.items() if k != "period"} for i in raw[key]
            if any(v for k, v in i.items() if k != "period")}


@pytest.fixture(scope="module")
def fed(pb, client):
    """An instance with one database and an agent, fed statements of now, 3 hours ago and 2 days ago."""
    instance = create_audit_instance(pb, database_limit=10)["id"]
    db_id = add_database(client, instance, "stats", "POSTGRESQL", 5432)
    other_db = add_database(client, instance, "stats2", "MYSQL", 3306)
    agent_id = add_agent(client, instance, db_id)["agent_id"]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    hours_ago = now - timedelta(hours=3)
    days_ago = now - timedelta(days=2)
    t = marker()
    events = [
        event(1, now, kind="LOGIN", session="s1", sql=""),
        event(2, now, f"select * from {t}", session="s1"),
        event(3, now, f"insert into {t} values (1)", command="INSERT", session="s1"),
        event(4, now, f"update {t} set a = 1", command="UPDATE", session="s1", rows=1),
        event(5, now, f"delete from {t}", command="DELETE", session="s2", user="ops", client_ip="10.0.0.8"),
        event(6, now, f"create table {t}_x (a int)", command="CREATE TABLE", session="s2", user="ops",
              client_ip="10.0.0.8"),
        event(7, now, f"select * from {t} where name = '' or 1=1", session="s2", user="ops",
              client_ip="10.0.0.8"),                                   # HIGH, SQL injection (tautology)
        event(8, now, kind="LOGIN_FAILED", session="s3", user="eve", client_ip="10.0.0.9", sql="",
              result="FAILED", code="28P01"),                          # MEDIUM, risk operation (login failure)
        event(9, hours_ago, f"select pg_sleep(0) from {t}", session="s4", duration_ms=2500.0),  # HIGH, time-based
        event(10, hours_ago, f"select * from {t} /* slow */", session="s4", duration_ms=2500.0),  # LOW, slow SQL
        event(11, days_ago, f"select * from {t} /* old */", session="s5"),
    ]
    assert post(pb, instance, agent_id, db_id, "b-1", events) == {"accepted": 11, "duplicates": 0,
                                                                   "throttled": False}
    # Sent again: nothing is counted twice.
    assert post(pb, instance, agent_id, db_id, "b-1", events)["duplicates"] == 11
    return {"instance": instance, "db_id": db_id, "other_db": other_db, "agent_id": agent_id, "now": now,
            "hours_ago": hours_ago, "days_ago": days_ago, "t": t}


def bucket_of(ts, size):
    s = int(ts.timestamp()) // size * size
    return wire(s)


def test_the_six_trends_count_each_statement_in_the_bucket_of_its_own_time(client, fed):
    inst, db_id = fed["instance"], fed["db_id"]
    hour_now, hour_ago = bucket_of(fed["now"], 3600), bucket_of(fed["hours_ago"], 3600)
    want = {
        "count_sql_statistics": {
            hour_now: {"select_num": 2, "insert_num": 1, "update_num": 1, "delete_num": 1, "other_num": 1},
            hour_ago: {"select_num": 2, "insert_num": 0, "update_num": 0, "delete_num": 0, "other_num": 0}},
        "count_sql_trend_statistics": {hour_now: {"sql_num": 6}, hour_ago: {"sql_num": 2}},
        # The login and the failed login are statements too (login events), so risk levels cover 8 now.
        "count_risk_trend_statistics": {
            hour_now: {"high_risk_num": 1, "middle_risk_num": 1, "low_risk_num": 0, "no_risk_num": 6},
            hour_ago: {"high_risk_num": 1, "middle_risk_num": 0, "low_risk_num": 1, "no_risk_num": 0}},
        "count_session_statistics": {
            hour_now: {"new_session_num": 1, "active_session_num": 2, "fail_session_num": 1},
            hour_ago: {"new_session_num": 0, "active_session_num": 1, "fail_session_num": 0}},
        "count_injection_statistics": {hour_now: {"injection_num": 1}, hour_ago: {"injection_num": 1}},
        "count_operation_statistics": {hour_now: {"risk_operation_num": 1}, hour_ago: {"risk_operation_num": 1}},
    }
    for which, expected in want.items():
        for db in (db_id, None):  # one database, and all of the instance's (the same here)
            raw, key = trend(client, inst, which, general(db_id=db, time_range="DAY"))
            assert [i["period"] for i in raw[key]] == periods(raw["generate_time"], "DAY"), raw
            assert nonzero(raw, key) == expected, (which, raw)
    # The other database has nothing; an empty bucket is all zeros.
    raw, key = trend(client, inst, "count_sql_trend_statistics", general(db_id=fed["other_db"], time_range="DAY"))
    assert raw[key] == [{"period": p, "sql_num": 0} for p in periods(raw["generate_time"], "DAY")], raw


def test_every_time_range_has_its_buckets_and_a_custom_window_reaches_back_days(client, fed):
    inst = fed["instance"]
    for name in SIZES:
        raw, key = trend(client, inst, "count_sql_trend_statistics", general(time_range=name))
        assert [i["period"] for i in raw[key]] == periods(raw["generate_time"], name), (name, raw)
        total = sum(i["sql_num"] for i in raw[key])
        assert total == {"HALF_HOUR": 6, "HOUR": 6, "THREE_HOUR": 6, "TWELVE_HOUR": 8, "DAY": 8}.get(name, 9), \
            (name, total)
    # A custom window around the statement of two days ago: 6 h → 12 buckets of 30 min (≈ 30 rounded).
    old = fed["days_ago"]
    start, end = old - timedelta(hours=3), old + timedelta(hours=3) - timedelta(seconds=1)
    raw, key = trend(client, inst, "count_sql_statistics", general(start=start.strftime(FMT), end=end.strftime(FMT),
                                                                    regenerate=1))
    first = int(start.timestamp()) // 1800 * 1800
    assert [i["period"] for i in raw[key]][0] == wire(first), raw
    assert all(epoch(b["period"]) - epoch(a["period"]) == 1800 for a, b in zip(raw[key], raw[key][1:])), raw
    assert nonzero(raw, key) == {bucket_of(old, 1800): {"select_num": 1, "insert_num": 0, "update_num": 0,
                                                        "delete_num": 0, "other_num": 0}}, raw


def test_bad_windows_enums_and_ids_are_refused_in_the_dbss_envelope(pb, client, fed):
    inst = fed["instance"]
    p = pb.bootstrap["project_id"]
    path = f"/v1/{p}/audit/{inst}/statistics/trend/sql-type"
    for body, field in [
        ({"time": {"time_range": "YEAR"}}, "time_range"),
        ({"time": {"start_time": "2025-05-01 10:00:00"}}, "time"),
        ({"time": {"start_time": "yesterday", "end_time": "2025-05-01 10:00:00"}}, "start_time"),
        ({"time": {"start_time": "2025-05-02 10:00:00", "end_time": "2025-05-01 10:00:00"}}, "start_time"),
        ({"time": {"start_time": "2020-01-01 00:00:00", "end_time": "2025-05-01 10:00:00"}}, "time"),
        ({"regenerate": 7}, "regenerate"),
        ({"db_id": 5}, "db_id"),
    ]:
        expect_dbss_error(signed_call(pb, "POST", path, body), 400, INVALID, field)
    expect_dbss_error(signed_call(pb, "POST", path, {"db_id": "x" * 20}), 404, NOT_FOUND)
    session = f"/v1/{p}/audit/{inst}/statistics/session/db-account"
    expect_dbss_error(signed_call(pb, "POST", session, {"db_id": fed["db_id"]}), 400, INVALID, "db_id")
    expect_dbss_error(signed_call(pb, "POST", session, {"time": {"time_range": "NOW"}}), 400, INVALID,
                      "time_range")
    expect_dbss_error(signed_call(pb, "POST", session, {"db_id": ["x" * 20]}), 404, NOT_FOUND)
    expect_dbss_error(signed_call(pb, "GET", f"/v2/{p}/audit/summary/info?limit=abc"), 400, INVALID, "limit")
    expect_dbss_error(signed_call(pb, "GET", f"/v2/{p}/audit/summary/info?limit=10001"), 400, INVALID, "limit")
    # Through the SDK too.
    expect_sdk_error(lambda: client.count_sql_trend_statistics(dbss.CountSqlTrendStatisticsRequest(
        instance_id=inst, body=general(time_range="FORTNIGHT"))), (400, INVALID, "time_range"))


def test_session_breakdowns_are_bare_arrays_per_account_and_client(client, fed):
    inst, db_id = fed["instance"], fed["db_id"]
    body = dbss.SqlSessionStatisticsRequest(db_id=[db_id], time=dbss.Duration(time_range="DAY"))
    accounts = raw_json(client.count_db_account_session(dbss.CountDbAccountSessionRequest(instance_id=inst,
                                                                                         body=body)))
    base = {"db_id": db_id, "db_ip": "127.0.0.1", "db_name": "stats"}
    # Sessions: app has s1 (login + statements) and s4; ops has s2; the failed login opened none.
    assert accounts == [dict(base, db_user="app", session_num=2), dict(base, db_user="ops", session_num=1)], accounts
    clients = raw_json(client.count_db_client_session(dbss.CountDbClientSessionRequest(instance_id=inst,
                                                                                      body=body)))
    assert clients == [{"db_id": db_id, "db_ip": "10.0.0.7", "db_name": "stats", "session_num": 2},
                       {"db_id": db_id, "db_ip": "10.0.0.8", "db_name": "stats", "session_num": 1}], clients
    # A week reaches the session of two days ago; no db_id = every database of the instance.
    week = dbss.SqlSessionStatisticsRequest(time=dbss.Duration(time_range="WEEK"))
    accounts = raw_json(client.count_db_account_session(dbss.CountDbAccountSessionRequest(instance_id=inst,
                                                                                         body=week)))
    assert accounts == [dict(base, db_user="app", session_num=3), dict(base, db_user="ops", session_num=1)], accounts
    # The other database alone: nothing.
    none = dbss.SqlSessionStatisticsRequest(db_id=[fed["other_db"]], time=dbss.Duration(time_range="DAY"))
    assert raw_json(client.count_db_client_session(dbss.CountDbClientSessionRequest(instance_id=inst,
                                                                                   body=none))) == []


def test_the_trend_history_lists_what_was_generated(client, fed):
    inst, db_id = fed["instance"], fed["db_id"]
    trend(client, inst, "count_injection_statistics", general(db_id=db_id, time_range="HOUR"))
    trend(client, inst, "count_risk_trend_statistics", general(time_range="HOUR"))
    raw = raw_json(client.list_audit_trend_history(dbss.ListAuditTrendHistoryRequest(instance_id=inst)))
    assert isinstance(raw, list), raw
    for item in raw:
        assert set(item) == {"db_id", "db_name", "generate_time", "statistics_type"}, item
        assert item["statistics_type"] in {"RISK", "SESSION", "SQL", "COUNT", "INJECTION", "OPERATION"}, item
        datetime.strptime(item["generate_time"], FMT)
    seen = {(i["db_id"], i["db_name"], i["statistics_type"]) for i in raw}
    assert (db_id, "stats", "INJECTION") in seen and ("", "", "RISK") in seen, raw
    # Newest first.
    times = [i["generate_time"] for i in raw]
    assert times == sorted(times, reverse=True), raw


def test_the_project_summaries_count_statements_and_risks(pb):
    """A project of its own, so the project-wide figures are exactly this test's."""
    project = create_sub_project(pb)
    client = dbss_client(pb, project_id=project)
    inst = create_audit_instance(pb, project_id=project, database_limit=5, name="summary-inst")["id"]
    db_id = add_database(client, inst, "sumdb", "POSTGRESQL", 5432)
    agent_id = add_agent(client, inst, db_id)["agent_id"]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    old = now - timedelta(days=3)
    events = [
        event(1, now, kind="LOGIN", session="a", sql=""),
        event(2, now, "select * from t where id = '' or 1=1", session="a"),
        event(3, now, "select * from t", session="a", duration_ms=1500.0),
        event(4, old, "select * from t where id = '' or 1=1", session="b"),
        event(5, now - timedelta(days=10), "select * from t where id = '' or 1=1", session="c"),
    ]
    resp = signed_call(pb, "POST", f"/v1/{project}/audit/{inst}/agents/{agent_id}/statements",
                       {"batch_id": "s-1", "db_id": db_id, "events": events}, project_id=project)
    assert resp.status == 200 and resp.json()["accepted"] == 5, resp.body

    raw = raw_json(client.list_audit_summary_infos(dbss.ListAuditSummaryInfosRequest()))
    assert set(raw) == {"project_id", "audit_duration", "total_sql", "total_risk", "today_sql", "today_risk",
                        "today_session", "update_time", "data_list", "total"}, raw
    assert type(raw["update_time"]) is int and abs(raw["update_time"] / 1000 - time.time()) < 60, raw
    assert type(raw["audit_duration"]) is int and raw["audit_duration"] >= 10 * 86400 - 120, raw
    totals = {k: raw[k] for k in ("total_sql", "total_risk", "today_sql", "today_risk", "today_session")}
    today_is_now = now.date() == datetime.now(timezone.utc).date()
    if today_is_now:  # (a run straddling midnight UTC checks the all-time figures only)
        assert totals == {"total_sql": 5, "total_risk": 4, "today_sql": 3, "today_risk": 2, "today_session": 1}, raw
    assert raw["total"] == 1 and len(raw["data_list"]) == 1, raw
    item = raw["data_list"][0]
    assert set(item) == {"id", "status", "project_id", "instance_id", "instance_name", "audit_duration", "total_sql",
                         "total_risk", "today_sql", "today_risk", "today_session", "update_time", "reserve1",
                         "reserve2"}, item
    assert item["id"] == 1 and item["status"] == "1" and type(item["instance_id"]) is int, item
    assert item["instance_id"] == int(inst[:12], 16), item
    assert (item["project_id"], item["instance_name"], item["reserve1"], item["reserve2"]) == \
        (project, "summary-inst", "", ""), item
    assert {k: item[k] for k in totals} == totals, item
    # Paging: past the end, an empty page with the same total.
    page = raw_json(client.list_audit_summary_infos(dbss.ListAuditSummaryInfosRequest(offset="1", limit="10")))
    assert page["data_list"] == [] and page["total"] == 1, page

    stats = raw_json(client.show_audit_statistics(dbss.ShowAuditStatisticsRequest()))
    assert type(stats["update_time"]) is int, stats
    del stats["update_time"]
    db = {"db_id": db_id, "db_ip": "127.0.0.1", "db_name": "sumdb", "instance_id": inst,
          "instance_name": "summary-inst"}
    # The last 7 days: the statement of 10 days ago is left out.
    assert stats == {
        "project_id": project,
        "high_risk_total": 2, "medium_risk_total": 0, "low_risk_total": 1,
        "db_risk_statistics": [dict(db, high_risk=2, medium_risk=0, low_risk=1, total_risk=3, risk_rule=[
            {"rule_name": "SQL_Injection_Tautology", "rule_name_english": "SQL_Injection_Tautology", "count": 2},
            {"rule_name": "数据库慢SQL检测", "rule_name_english": "Database_Slow_SQL_Detection", "count": 1}])],
        "rule_risk_statistics": [
            {"rule_name": "SQL_Injection_Tautology", "count": 2, "instance_risk_count": [dict(db, count=2)]},
            {"rule_name": "数据库慢SQL检测", "count": 1, "instance_risk_count": [dict(db, count=1)]}],
        "unsupported_audit_infos": {"audit_infos": [], "support_version": ""},
    }, stats


def test_the_cli_shows_trends_and_sessions(pb, client, fed, tmp_path):
    import json
    import os
    import subprocess

    from conftest import _binary

    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env.update(PLUGBOARD_ENDPOINT=pb.base_url, PLUGBOARD_ACCESS_KEY=pb.bootstrap["access_key"],
               PLUGBOARD_SECRET_KEY=pb.bootstrap["secret_key"], PLUGBOARD_PROJECT_ID=pb.bootstrap["project_id"],
               PLUGBOARD_CLI_CONFIG=str(tmp_path / "none.json"))

    def cli(*args):
        res = subprocess.run([str(_binary()), "audit", "stats", "--instance", fed["instance"], *args], env=env,
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        return res.stdout

    out = json.loads(cli("--trend", "sql-count", "--db", fed["db_id"], "-o", "json"))
    assert out["status"] == "FINISHED" and sum(i["sql_num"] for i in out["count_statistics"]) == 8, out
    table = cli("--trend", "sql-type").splitlines()
    assert table[0].split() == ["PERIOD", "(UTC)", "SELECT", "INSERT", "UPDATE", "DELETE", "OTHER"], table
    assert len(table) == 1 + 24, table
    hour = bucket_of(fed["now"], 3600)
    assert [line.split()[2:] for line in table if line.startswith(hour)] == [["2", "1", "1", "1", "1"]], table
    risk = cli()  # the default: risk levels over the last day
    assert "HIGH" in risk.splitlines()[0] and "NO_RISK" in risk.splitlines()[0], risk
    sessions = cli("--sessions", "client").splitlines()
    assert sessions[0].split() == ["DATABASE", "DB_ID", "CLIENT", "SESSIONS"], sessions
    assert sessions[1].split() == ["stats", fed["db_id"], "10.0.0.7", "2"], sessions
    res = subprocess.run([str(_binary()), "audit", "stats", "--instance", fed["instance"], "--time-range", "YEAR"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "time_range" in res.stderr, (res.returncode, res.stderr)


# -- the QPS budget -----------------------------------------------------------------------------------------
BUDGET_CONFIG = PROBE_CONFIG + """audit_qps_limit = 20
audit_qps_overflow_seconds = 2
agent_silence_seconds = 2
"""


@pytest.fixture(scope="module")
def tight(plugboard_launcher):
    """A server whose instances have a budget of 20 statements/s (burst 200), overflow after 2 s, agents
    silent after 2 s."""
    server = plugboard_launcher.start(config=BUDGET_CONFIG)
    yield server
    plugboard_launcher.finish(server)


def alarms(client, instance, alarm_type):
    body = dbss.AlarmLogRequest(time=dbss.AlarmLogRequestTime(time_range="DAY"), type=alarm_type, page=1, size=100)
    raw = raw_json(client.list_audit_alarm_log_new(dbss.ListAuditAlarmLogNewRequest(instance_id=instance,
                                                                                    body=body)))
    for a in raw["alarm_log"]:
        assert set(a) == {"id", "alarm_life", "send_email", "alarm_time", "alarm_type", "alarm_fix_time",
                          "alarm_status", "alarm_risk", "alarm_description"}, a
    return raw


def test_over_budget_batches_are_stored_but_throttled_and_a_long_overflow_raises_an_alarm(tight):
    client = dbss_client(tight)
    inst = create_audit_instance(tight, database_limit=5)["id"]
    db_id = add_database(client, inst, "qps", "POSTGRESQL", 5432)
    agent_id = add_agent(client, inst, db_id)["agent_id"]
    t = marker()
    now = datetime.now(timezone.utc)
    batch = lambda first, n: [event(first + i, now, f"select {i} from {t}") for i in range(n)]
    # The burst (10 s of budget = 200 statements) is taken without a word.
    assert post(tight, inst, agent_id, db_id, "q-1", batch(0, 150)) == {"accepted": 150, "duplicates": 0,
                                                                         "throttled": False}
    # Past it: stored all the same, the agent told to wait for what it owes (about 100 over at 20/s).
    r = post(tight, inst, agent_id, db_id, "q-2", batch(150, 150))
    assert set(r) == {"accepted", "duplicates", "throttled", "retry_after_ms"}, r
    assert (r["accepted"], r["duplicates"], r["throttled"]) == (150, 0, True), r
    assert 1000 <= r["retry_after_ms"] <= 5000, r
    assert list_sqls(client, inst, sql_statement=t)["total"] == 300
    assert alarms(client, inst, "AUDIT_QPS_OVERFLOW")["total_num"] == 0
    # Keep going over budget for more than 2 s: the overflow alarm opens (HIGH).
    seq = 300
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = post(tight, inst, agent_id, db_id, f"q-{seq}", batch(seq, 50))
        assert r["throttled"] is True, r
        seq += 50
        raw = alarms(client, inst, "AUDIT_QPS_OVERFLOW")
        if raw["total_num"]:
            break
        time.sleep(0.5)
    raw = alarms(client, inst, "AUDIT_QPS_OVERFLOW")
    assert raw["total_num"] == 1, raw
    a = raw["alarm_log"][0]
    assert (a["alarm_life"], a["alarm_risk"], a["alarm_status"], a["alarm_fix_time"], a["send_email"]) == \
        ("ON", "HIGH", "UNDO", "", False), a
    assert "20 statements/s" in a["alarm_description"], a
    assert list_sqls(client, inst, sql_statement=t)["total"] == seq  # nothing dropped
    # Within budget (silent) for 2 s: the alarm closes, its fix time set.
    time.sleep(2.5)
    raw = alarms(client, inst, "AUDIT_QPS_OVERFLOW")
    a = raw["alarm_log"][0]
    assert raw["total_num"] == 1 and a["alarm_life"] == "OFF" and a["alarm_fix_time"], raw
    assert epoch(a["alarm_fix_time"]) >= epoch(a["alarm_time"]), a


def test_a_real_agent_under_a_tiny_budget_is_slowed_never_dropped(tight, agents, tmp_path):
    client = dbss_client(tight)
    inst = create_audit_instance(tight, database_limit=5)["id"]
    db_id = add_database(client, inst, "slow", "POSTGRESQL", 5432)
    agent_id = add_agent(client, inst, db_id)["agent_id"]
    logdir = tmp_path / "pglog"
    logdir.mkdir()
    t = marker()
    stamp_ = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"

    def audit(n):
        msg = f"AUDIT: SESSION,{n},1,READ,SELECT,TABLE,public.{t},select {n} from {t},<not logged>,1"
        return {"timestamp": stamp_, "user": "app", "dbname": "orders", "remote_host": "10.0.0.7", "remote_port": 5,
                "session_id": "q.1", "error_severity": "LOG", "message": msg, "application_name": "x"}

    total = 320  # the 200 of the burst, then 120 more at 20/s: about 6 s
    write_jsonl(logdir / "postgresql-1.json", [audit(n) for n in range(1, total + 1)])
    started = time.monotonic()
    a = agents(tight, inst, agent_id, [(db_id, "pgaudit-jsonlog", logdir)]).start()
    raw = wait_sqls(client, inst, total, timeout=60, sql_statement=t)
    took = time.monotonic() - started
    assert raw["total"] == total, (raw["total"], a.log())
    assert a.stop() == 0, a.log()
    assert "throttling" in a.log(), a.log()
    print(f"\n{total} statements through a 20/s budget (burst 200) in {took:.1f} s")


# -- the agent alarm and datacap_status ---------------------------------------------------------------------
def test_a_silent_agent_is_abnormal_and_raises_risk_agent_until_it_speaks_again(tight):
    client = dbss_client(tight)
    inst = create_audit_instance(tight, database_limit=5)["id"]
    db_id = add_database(client, inst, "quiet", "POSTGRESQL", 5432)
    agent_id = add_agent(client, inst, db_id)["agent_id"]
    heartbeat = lambda: signed_call(tight, "POST", ingest_path(tight, inst, agent_id, "heartbeat"), {"version": "t"})
    assert heartbeat().status == 200
    assert list_agents(client, inst, db_id)[0]["datacap_status"] == 1
    assert alarms(client, inst, "RISK_AGENT")["total_num"] == 0
    time.sleep(2.5)  # agent_silence_seconds = 2
    assert list_agents(client, inst, db_id)[0]["datacap_status"] == 4
    raw = alarms(client, inst, "RISK_AGENT")
    assert raw["total_num"] == 1, raw
    a = raw["alarm_log"][0]
    assert (a["alarm_type"], a["alarm_life"], a["alarm_risk"], a["alarm_status"], a["alarm_fix_time"]) == \
        ("RISK_AGENT", "ON", "MEDIUM", "UNDO", ""), a
    assert agent_id in a["alarm_description"], a
    # Listed again: still the one alarm.
    assert alarms(client, inst, "RISK_AGENT")["total_num"] == 1
    # The agent speaks: the alarm closes, capture is running again.
    assert heartbeat().status == 200
    assert list_agents(client, inst, db_id)[0]["datacap_status"] == 1
    raw = alarms(client, inst, "RISK_AGENT")
    assert raw["total_num"] == 1 and raw["alarm_log"][0]["alarm_life"] == "OFF", raw
    assert raw["alarm_log"][0]["alarm_fix_time"], raw
    # Switched off, an agent may be silent: stopped (3), no new alarm.
    sw = dbss.AgentSwitchRequest(agent_id=agent_id, status=0)
    assert raw_json(client.switch_agent_new(dbss.SwitchAgentNewRequest(instance_id=inst, body=sw))) == \
        {"result": "SUCCESS"}
    time.sleep(2.5)
    assert list_agents(client, inst, db_id)[0]["datacap_status"] == 3
    raw = alarms(client, inst, "RISK_AGENT")
    assert [x["alarm_life"] for x in raw["alarm_log"]] == ["OFF"], raw


# -- a sleeping agent (datacap_status 2) --------------------------------------------------------------------
SLEEP_CONFIG = PROBE_CONFIG + """agent_sleep_seconds = 8
"""


@pytest.fixture(scope="module")
def sleepy(plugboard_launcher):
    """A server whose agents are sleeping after 8 s without a statement shipped (longer than the agents' 5 s
    heartbeat, so a heartbeat after a shipment always finds the agent running)."""
    server = plugboard_launcher.start(config=SLEEP_CONFIG)
    yield server
    plugboard_launcher.finish(server)


def wait_datacap(client, inst, db_id, want, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        got = list_agents(client, inst, db_id)[0]["datacap_status"]
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def test_an_agent_that_ships_nothing_is_sleeping_until_it_ships_again(sleepy, agents, tmp_path):
    client = dbss_client(sleepy)
    inst = create_audit_instance(sleepy, database_limit=5)["id"]
    db_id = add_database(client, inst, "sleepy", "POSTGRESQL", 5432)
    agent_id = add_agent(client, inst, db_id)["agent_id"]
    heartbeat = lambda **body: signed_call(sleepy, "POST", ingest_path(sleepy, inst, agent_id, "heartbeat"),
                                           dict(version="t", **body))

    # The wire: idle_ms dates the last shipment by plugboard's clock; without it, nothing changes.
    assert heartbeat(idle_ms=0).status == 200
    assert list_agents(client, inst, db_id)[0]["datacap_status"] == 1
    assert heartbeat(idle_ms=8500).status == 200
    assert list_agents(client, inst, db_id)[0]["datacap_status"] == 2
    assert heartbeat().status == 200
    assert list_agents(client, inst, db_id)[0]["datacap_status"] == 2
    assert heartbeat(idle_ms=0).status == 200
    assert list_agents(client, inst, db_id)[0]["datacap_status"] == 1
    assert heartbeat(idle_ms="soon").status == 400
    # Off beats sleeping; silent beats both (agent_silence_seconds keeps its 300 s here).
    assert heartbeat(idle_ms=20_000).status == 200
    switch_agent(client, inst, agent_id, 0)
    assert list_agents(client, inst, db_id)[0]["datacap_status"] == 3
    switch_agent(client, inst, agent_id, 1)
    assert list_agents(client, inst, db_id)[0]["datacap_status"] == 2

    # A real agent: nothing to ship for 8 s → sleeping; a statement shipped → running again.
    logdir = tmp_path / "pglog"
    logdir.mkdir()
    t = marker()
    stamp_ = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    msg = f"AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.{t},select 1 from {t},<not logged>,1"
    line = {"timestamp": stamp_, "user": "app", "dbname": "orders", "remote_host": "10.0.0.7", "remote_port": 5,
            "session_id": "s.1", "error_severity": "LOG", "message": msg, "application_name": "x"}
    write_jsonl(logdir / "postgresql-1.json", [])
    assert heartbeat(idle_ms=0).status == 200
    assert list_agents(client, inst, db_id)[0]["datacap_status"] == 1
    a = agents(sleepy, inst, agent_id, [(db_id, "pgaudit-jsonlog", logdir)]).start()
    started = time.monotonic()
    assert wait_datacap(client, inst, db_id, 2) == 2, a.log()
    assert time.monotonic() - started > 5, "sleeping before agent_sleep_seconds passed"  # 8 s, with margin
    write_jsonl(logdir / "postgresql-1.json", [line])
    assert wait_sqls(client, inst, 1, sql_statement=t)["total"] == 1
    assert wait_datacap(client, inst, db_id, 1) == 1, a.log()
    assert a.stop() == 0, a.log()
