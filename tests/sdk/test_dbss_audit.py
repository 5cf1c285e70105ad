"""DBSS that really audits (docs/dbss-audit.md), end to end with real parts: a private PostgreSQL 15
cluster with pgaudit and MariaDB's server_audit, the server, a real `plugboard dbss-agent` process,
and the official SDK (huaweicloudsdkdbss) for every DBSS operation.

Fixtures: audithelpers.py (capture set-up, the agent process), dbsshelpers.py (the server).
"""

import signal
import time

import pytest
from huaweicloudsdkdbss.v1 import model as dbss

from sdkhelpers import create_audit_instance, raw_json
from dbsshelpers import client, pb  # noqa: F401 - fixtures
from audithelpers import (
    SEEN_TIMEOUT, add_agent, add_database, agents, list_agents, list_sqls, maria, marker, pgaudit, statements,
    wait_sqls,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DETAIL_KEYS = {
    "id", "audit_result", "client_ip", "client_port", "client_port_str", "client_mac", "db_mac", "client_name",
    "client_os_name", "client_os_user", "client_tool", "db_ip", "db_port", "db_port_str", "db_instance",
    "db_service_name", "db_session_id", "db_type", "db_user", "start_time", "end_time", "execute_time", "field",
    "level", "lines", "log_result", "object", "object_type", "query_id", "query_type", "response_length",
    "response_status", "rule_id", "rule_name", "rule_type", "schema", "scope_id", "scope_name", "sql_response",
    "sql_result", "sql_statement", "tcp_session_id",
}
ALARM_KEYS_NEW = {"id", "alarm_life", "send_email", "alarm_time", "alarm_type", "alarm_fix_time", "alarm_status",
                  "alarm_risk", "alarm_description"}
ALARM_KEYS_OLD = (ALARM_KEYS_NEW - {"alarm_life", "send_email"}) | {"alarmLife", "sendEmail"}


def by_text(raw):
    return {i["sql"]["sql_statement"]: i["sql"] for i in raw["sqls"]}


def create_drop_rule(client, instance_id, name):
    body = dbss.RuleAddRiskRuleRequest(rule_name=name, risk_level="MEDIUM", status="ON", action="DROP_TABLE",
                                       affect_symbol="NO_MATCH", affect_rows=0)
    resp = client.create_audit_risk_rule(dbss.CreateAuditRiskRuleRequest(instance_id=instance_id, body=body))
    assert raw_json(resp) == {"status": "SUCCESS"}


def test_postgres_statements_rules_and_alarms(pb, client, pgaudit, agents):
    """§0 on PostgreSQL: statements listed within 10 s with their risk and rule; a tautology is
    HIGH and opens an alarm, a one-row UPDATE is NO_RISK, a custom DROP_TABLE rule names a DROP."""
    instance = create_audit_instance(pb, database_limit=10)["id"]
    db_id = add_database(client, instance, "orders", "POSTGRESQL", pgaudit.port)
    agent = add_agent(client, instance, db_id)
    assert agent["status"] == 1 and agent["datacap_status"] == 4, agent  # no heartbeat yet
    assert agent["db_name"] == "orders" and agent["agent_ip"] == "127.0.0.1", agent
    create_drop_rule(client, instance, "drop-watch")
    a = agents(pb, instance, agent["agent_id"], [(db_id, "pgaudit-jsonlog", pgaudit.log_dir)]).start()
    t = marker()
    pgaudit.psql(f"CREATE TABLE {t} (id int, name text)",
                 f"INSERT INTO {t} VALUES (1, 'a'), (2, 'b')",
                 f"SELECT * FROM {t} WHERE name = '' OR 1=1",
                 f"UPDATE {t} SET name = 'c' WHERE id = 1",
                 f"DROP TABLE {t}", app="orders-app")
    started = time.monotonic()
    raw = wait_sqls(client, instance, 5, sql_statement=t.upper())
    assert raw["total"] == 5, (statements(raw), a.log())
    assert time.monotonic() - started < SEEN_TIMEOUT
    got = by_text(raw)
    taut = got[f"SELECT * FROM {t} WHERE name = '' OR 1=1"]
    assert (taut["risk_level"], taut["rule_name"], taut["query_type"]) == ("HIGH", "SQL_Injection_Tautology",
                                                                           "SELECT"), taut
    assert (taut["db_user"], taut["client_name"], taut["sql_response"]) == ("postgres", "orders-app", "SUCCESS")
    assert (taut["db_ip"], taut["db_instance"], taut["client_ip"]) == ("127.0.0.1", "orders", "127.0.0.1")
    assert taut["operated_obj_info"] == [{"column_name": "", "object_type": "", "schema_name": "public",
                                          "sql_type": "SELECT", "sys_name": "", "table_name": t}]
    upd = got[f"UPDATE {t} SET name = 'c' WHERE id = 1"]
    assert (upd["risk_level"], upd["rule_name"], upd["query_type"]) == ("NO_RISK", "", "UPDATE"), upd
    drop = got[f"DROP TABLE {t}"]
    assert (drop["risk_level"], drop["rule_name"], drop["query_type"]) == ("MEDIUM", "drop-watch", "DROP_TABLE")
    assert got[f"CREATE TABLE {t} (id int, name text)"]["query_type"] == "CREATE_TABLE"
    assert got[f"INSERT INTO {t} VALUES (1, 'a'), (2, 'b')"]["query_type"] == "INSERT"

    # Filters: the old path answers the same; exact-match filters; risk levels; total counts all.
    assert list_sqls(client, instance, new=False, sql_statement=t)["total"] == 5
    assert list_sqls(client, instance, sql_statement=t, risk_levels="HIGH")["total"] == 1
    assert list_sqls(client, instance, sql_statement=t, risk_levels="HIGH,MEDIUM")["total"] == 2
    assert list_sqls(client, instance, sql_statement=t, query_type="UPDATE")["total"] == 1
    assert list_sqls(client, instance, sql_statement=t, db_user="nobody")["total"] == 0
    assert list_sqls(client, instance, sql_statement=t, db_ip="127.0.0.1", client_name="orders-app")["total"] == 5
    assert list_sqls(client, instance, sql_statement=t, rule_name="drop-watch")["total"] == 1
    page = list_sqls(client, instance, sql_statement=t, size=2, page=2, time_order="ASC")
    assert (page["total"], page["count"]) == (5, 2), page
    assert statements(page) == [f"SELECT * FROM {t} WHERE name = '' OR 1=1", f"UPDATE {t} SET name = 'c' WHERE id = 1"]

    # ShowSqlDetail: every key.
    resp = client.show_sql_detail(dbss.ShowSqlDetailRequest(instance_id=instance, id=taut["id"]))
    detail = raw_json(resp)["sql"]
    assert set(detail) == DETAIL_KEYS, set(detail) ^ DETAIL_KEYS
    assert (detail["level"], detail["rule_type"], detail["db_type"], detail["db_port"]) == \
        ("HIGH", "SQL_INJECTION", "POSTGRESQL", pgaudit.port)
    assert (detail["lines"], detail["response_status"], detail["object"], detail["scope_name"]) == \
        ("2", "0", f"public.{t}", "全审计规则"), detail

    # The HIGH statement opened an alarm; the old path spells two keys in camelCase.
    body = dbss.AlarmLogRequest(time=dbss.AlarmLogRequestTime(time_range="HALF_HOUR"), risk=["HIGH"], page=1,
                                size=10)
    new = raw_json(client.list_audit_alarm_log_new(dbss.ListAuditAlarmLogNewRequest(instance_id=instance,
                                                                                    body=body)))
    assert new["total_num"] >= 1, new
    alarm = new["alarm_log"][0]
    assert set(alarm) == ALARM_KEYS_NEW, alarm
    assert (alarm["alarm_type"], alarm["alarm_risk"], alarm["alarm_status"], alarm["alarm_life"]) == \
        ("RISK_RULE", "HIGH", "UNDO", "ON"), alarm
    assert "SQL_Injection_Tautology" in alarm["alarm_description"] and "orders" in alarm["alarm_description"]
    old = raw_json(client.list_audit_alarm_log(dbss.ListAuditAlarmLogRequest(instance_id=instance, body=body)))
    assert set(old["alarm_log"][0]) == ALARM_KEYS_OLD, old

    # The heartbeat shows: capture running.
    deadline = time.monotonic() + 10
    while list_agents(client, instance, db_id)[0]["datacap_status"] != 1:
        assert time.monotonic() < deadline, a.log()
        time.sleep(0.3)
    assert a.stop() == 0, a.log()


def test_mariadb_statements(pb, client, maria, agents):
    """server_audit: the statement, its objects from the TABLE lines, failed logins."""
    instance = create_audit_instance(pb, database_limit=10)["id"]
    db_id = add_database(client, instance, "shop", "MYSQL", 3306, version="10.11")
    agent = add_agent(client, instance, db_id, new=False)
    a = agents(pb, instance, agent["agent_id"], [(db_id, "mariadb-server-audit", maria.path)]).start()
    t = marker()
    maria.sql(f"CREATE DATABASE {t}", f"CREATE TABLE {t}.acct (id int, name text)",
              f"INSERT INTO {t}.acct VALUES (1, 'a')", f"SELECT * FROM {t}.acct WHERE name = '' OR 1=1",
              f"UPDATE {t}.acct SET name = 'b' WHERE id = 1", f"DROP DATABASE {t}")
    raw = wait_sqls(client, instance, 6, sql_statement=t)
    assert raw["total"] == 6, (statements(raw), a.log())
    got = by_text(raw)
    sel = got[f"SELECT * FROM {t}.acct WHERE name = '' OR 1=1"]
    assert (sel["risk_level"], sel["rule_name"], sel["query_type"], sel["db_user"]) == \
        ("HIGH", "SQL_Injection_Tautology", "SELECT", "root"), sel
    assert [(o["schema_name"], o["table_name"]) for o in sel["operated_obj_info"]] == [(t, "acct")], sel
    upd = got[f"UPDATE {t}.acct SET name = 'b' WHERE id = 1"]
    assert (upd["risk_level"], upd["query_type"]) == ("NO_RISK", "UPDATE"), upd
    # A failed login is an event with its own rule.
    maria.sql("SELECT 1", user="pb_no_such_user", password="wrong", check=False)
    raw = wait_sqls(client, instance, 1, db_user="pb_no_such_user", sql_response="FAILED")
    assert raw["total"] == 1, (raw, a.log())
    assert (raw["sqls"][0]["sql"]["query_type"], raw["sqls"][0]["sql"]["risk_level"]) == ("LOGIN", "MEDIUM")
    assert a.stop() == 0, a.log()
