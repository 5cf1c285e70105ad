"""Bounded audit storage end to end (docs/dbss-audit.md → Storage): a server configured with a two-day
retention, a 25-statement online cap and a one-second storage keeper; statements shipped through the
signed ingest endpoint with times of their own, read back with the official SDK's ListAuditSqlsNew
over a custom window. Old days go, then the oldest statements beyond the cap, the newest stay.

Fixtures: dbsshelpers.py (client), audithelpers.py.
"""

import time
from datetime import datetime, timedelta, timezone

import pytest
from huaweicloudsdkdbss.v1 import model as dbss

from audithelpers import add_agent, add_database, marker
from dbsshelpers import PROBE_CONFIG, client  # noqa: F401 - fixtures
from sdkhelpers import create_audit_instance, raw_json, signed_call

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
CAP = 25
STORAGE_CONFIG = PROBE_CONFIG + f"retention_days = 2\nonline_statement_limit = {CAP}\nstorage_interval_seconds = 1\n"
KEEP_TIMEOUT = 15.0  # seconds: a keeper round runs every second


@pytest.fixture(scope="module")
def pb(plugboard_launcher):
    """This module's server, with the small storage bounds above."""
    server = plugboard_launcher.start(config=STORAGE_CONFIG)
    yield server
    plugboard_launcher.finish(server)


def event(seq, sql, at):
    return {"seq": seq, "ts": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", "kind": "QUERY", "session": "s1",
            "user": "app", "database": "orders", "client_ip": "10.0.0.7", "client_port": 5000,
            "application": "psql", "command": "SELECT", "sql": sql, "result": "SUCCESS"}


def ship(pb, instance, agent_id, db_id, batch_id, events):
    path = f"/v1/{pb.bootstrap['project_id']}/audit/{instance}/agents/{agent_id}/statements"
    resp = signed_call(pb, "POST", path, {"batch_id": batch_id, "db_id": db_id, "events": events})
    assert (resp.status, resp.json()) == (200, {"accepted": len(events), "duplicates": 0, "throttled": False}), \
        resp.body


def listed(client, instance, t):
    """Every statement holding `t` over the last week (custom window), oldest first."""
    fmt = "%Y-%m-%d %H:%M:%S"
    now = datetime.now(timezone.utc)
    window = dbss.AuditSqlRequestTime(start_time=(now - timedelta(days=7)).strftime(fmt),
                                      end_time=(now + timedelta(hours=1)).strftime(fmt))
    body = dbss.AuditSqlRequest(time=window, sql_statement=t, size=100, time_order="ASC")
    raw = raw_json(client.list_audit_sqls_new(dbss.ListAuditSqlsNewRequest(instance_id=instance, body=body)))
    assert raw["count"] == len(raw["sqls"]), raw
    return raw["total"], [i["sql"]["sql_statement"] for i in raw["sqls"]]


def wait_total(client, instance, t, want):
    deadline = time.monotonic() + KEEP_TIMEOUT
    while True:
        total, texts = listed(client, instance, t)
        if total == want or time.monotonic() > deadline:
            return total, texts
        time.sleep(0.3)


def test_retention_then_the_online_cap_keep_the_newest(pb, client):
    instance = create_audit_instance(pb, database_limit=10)["id"]
    db_id = add_database(client, instance, "bounded", "POSTGRESQL", 5432)
    agent_id = add_agent(client, instance, db_id)["agent_id"]
    t = marker()
    now = datetime.now(timezone.utc)

    # Five days old: past the two-day retention, deleted by the next round.
    old = [event(i, f"select {i} from {t} /* old */", now - timedelta(days=5, seconds=i)) for i in range(10)]
    # Yesterday: kept by retention.
    kept = [event(100 + i, f"select {100 + i} from {t} /* yesterday */", now - timedelta(days=1, seconds=10 - i))
            for i in range(5)]
    ship(pb, instance, agent_id, db_id, "old-1", old + kept)
    total, texts = wait_total(client, instance, t, 5)
    assert total == 5 and all("yesterday" in s for s in texts), texts

    # Forty more, a second apart: 45 in all, over the cap of 25 → the 20 oldest go.
    fresh = [event(200 + i, f"select {200 + i} from {t} /* fresh */", now - timedelta(seconds=60 - i))
             for i in range(40)]
    ship(pb, instance, agent_id, db_id, "fresh-1", fresh)
    total, texts = wait_total(client, instance, t, CAP)
    assert total == CAP, texts
    assert texts == [f"select {200 + i} from {t} /* fresh */" for i in range(15, 40)], texts

    # A late statement of a day past retention is stored, then goes with the next round.
    ship(pb, instance, agent_id, db_id, "late-1", [event(999, f"select 999 from {t} /* late */",
                                                         now - timedelta(days=4))])
    total, texts = wait_total(client, instance, t, CAP)
    assert total == CAP and not any("late" in s for s in texts), texts
