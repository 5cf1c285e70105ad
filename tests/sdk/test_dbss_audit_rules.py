"""DBSS audit rules and alarms through the official SDK (docs/dbss-audit.md → Rules, Alarms): the
shipped risk-operation and SQL-injection rules listed and read, custom rules created, edited,
switched, ranked and deleted (system rules: switch and thresholds only), each change taking effect
on the next statement ingested; alarms marked, deleted, and the alarm config read and written.

Statements come in through the agent protocol (signed HTTP, the body `plugboard dbss-agent` sends);
the agent process itself is tested in test_dbss_audit*.py.
"""

from datetime import datetime, timezone

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ServiceResponseException
from huaweicloudsdkdbss.v1 import model as dbss

from sdkhelpers import create_audit_instance, raw_json, signed_call
from dbsshelpers import client, pb  # noqa: F401 - fixtures
from audithelpers import add_agent, add_database, list_sqls, marker

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
RISK_KEYS = {"id", "name", "type", "feature", "status", "rank", "risk_level", "rule_type"}
RISK_DETAIL_KEYS = {"rule_id", "rule_name", "status", "action", "schemas", "rank", "ignore_case", "risk_level",
                    "db_ids", "execution_symbol", "execution_time", "affect_symbol", "affect_rows", "client_ips"}
SQL_RULE_KEYS = {"id", "name", "status", "risk_level", "type", "rank", "feature", "regex"}


class Setup:
    def __init__(self, pb, client):
        self.pb, self.client = pb, client
        self.instance = create_audit_instance(pb, database_limit=10)["id"]
        self.db_id = add_database(client, self.instance, "rules", "POSTGRESQL", 5432)
        self.agent_id = add_agent(client, self.instance, self.db_id)["agent_id"]
        self.seq = 0

    def ingest(self, sql, command="SELECT", **extra):
        """One statement in; its listed form back."""
        self.seq += 1
        t = marker()
        ev = {"seq": self.seq, "ts": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
              "kind": "QUERY", "session": "s", "user": "app", "database": "orders", "client_ip": "10.0.0.7",
              "command": command, "sql": f"{sql} /* {t} */", "result": "SUCCESS"}
        ev.update(extra)
        path = f"/v1/{self.pb.bootstrap['project_id']}/audit/{self.instance}/agents/{self.agent_id}/statements"
        resp = signed_call(self.pb, "POST", path, {"batch_id": t, "db_id": self.db_id, "events": [ev]})
        assert resp.status == 200 and resp.json()["accepted"] == 1, resp.body
        raw = list_sqls(self.client, self.instance, sql_statement=t)
        assert raw["total"] == 1, raw
        return raw["sqls"][0]["sql"]

    def risks(self, new=True, **q):
        if new:
            return raw_json(self.client.list_audit_rule_risks_new(
                dbss.ListAuditRuleRisksNewRequest(instance_id=self.instance, **q)))
        return raw_json(self.client.list_audit_rule_risks(dbss.ListAuditRuleRisksRequest(instance_id=self.instance,
                                                                                          **q)))

    def sql_rules(self, new=True, **body):
        b = dbss.SqlRuleRequest(**body)
        if new:
            return raw_json(self.client.list_sql_injection_rules_new(
                dbss.ListSqlInjectionRulesNewRequest(instance_id=self.instance, body=b)))
        return raw_json(self.client.list_sql_injection_rules(
            dbss.ListSqlInjectionRulesRequest(instance_id=self.instance, body=b)))


@pytest.fixture
def s(pb, client):
    return Setup(pb, client)


def expect_error(call, status, code):
    with pytest.raises(ServiceResponseException) as info:
        call()
    assert (info.value.status_code, info.value.error_code) == (status, code), str(info.value)
    return info.value


def risk_body(**kw):
    base = dict(rule_name="r", risk_level="HIGH", status="ON", action="SELECT", affect_symbol="NO_MATCH",
                affect_rows=0)
    base.update(kw)
    return dbss.RuleAddRiskRuleRequest(**base)


def test_risk_rules_listed_read_edited_switched_ranked_deleted(s):
    listed = s.risks()
    assert (listed["total"], listed["customize_total"]) == (5, 0), listed
    for r in listed["rules"]:
        assert set(r) == RISK_KEYS, r
    assert [r["rank"] for r in listed["rules"]] == [1, 2, 3, 4, 5]
    drag = listed["rules"][0]
    assert (drag["name"], drag["risk_level"], drag["rule_type"], drag["type"], drag["feature"]) == \
        ("数据库拖库检测", "HIGH", "SYSTEM", "OPERATE", "SELECT; affect_rows >= 5000"), drag
    assert s.risks(new=False, risk_levels="MEDIUM")["total"] == 3
    detail = raw_json(s.client.show_audit_rule_risk_new(dbss.ShowAuditRuleRiskNewRequest(instance_id=s.instance,
                                                                                          id=drag["id"])))
    assert set(detail) == RISK_DETAIL_KEYS, detail
    old = raw_json(s.client.show_audit_rule_risk(dbss.ShowAuditRuleRiskRequest(instance_id=s.instance,
                                                                                risk_id=drag["id"])))
    assert old == detail

    # A system rule's threshold may be edited, and the next statement sees it.
    assert s.ingest("select * from accounts", rows=50)["risk_level"] == "NO_RISK"
    resp = s.client.set_risk_operation_policy(dbss.SetRiskOperationPolicyRequest(
        instance_id=s.instance, id=drag["id"], body=risk_body(rule_name="数据库拖库检测", affect_symbol="GREATER_EQUAL",
                                                               affect_rows=10)))
    assert raw_json(resp) == {"status": "SUCCESS"}
    hit = s.ingest("select * from accounts", rows=50)
    assert (hit["risk_level"], hit["rule_name"]) == ("HIGH", "数据库拖库检测"), hit
    expect_error(lambda: s.client.set_risk_operation_policy(dbss.SetRiskOperationPolicyRequest(
        instance_id=s.instance, id=drag["id"], body=risk_body(rule_name="renamed"))), 400, "DBSS.10000001")
    expect_error(lambda: s.client.delete_audit_rule_risk(dbss.DeleteAuditRuleRiskRequest(
        instance_id=s.instance, id=drag["id"])), 400, "DBSS.10000001")

    # Custom rules: created at the end, ranked, switched (all or nothing), edited, deleted.
    for name in ("a-custom", "b-custom"):
        s.client.create_audit_risk_rule(dbss.CreateAuditRiskRuleRequest(
            instance_id=s.instance, body=risk_body(rule_name=name, action="DELETE", risk_level="LOW")))
    expect_error(lambda: s.client.create_audit_risk_rule(dbss.CreateAuditRiskRuleRequest(
        instance_id=s.instance, body=risk_body(rule_name="a-custom"))), 400, "DBSS.10000001")
    rules = s.risks()["rules"]
    assert [r["name"] for r in rules[-2:]] == ["a-custom", "b-custom"] and rules[-1]["rank"] == 7
    b = rules[-1]
    resp = s.client.set_risk_rule_rank(dbss.SetRiskRuleRankRequest(
        instance_id=s.instance, body=dbss.RankRiskRuleNew(id=b["id"], new_rank=1)))
    assert raw_json(resp) == {"result": "success"}
    rules = s.risks()["rules"]
    assert (rules[0]["name"], [r["rank"] for r in rules]) == ("b-custom", [1, 2, 3, 4, 5, 6, 7])
    assert s.ingest("delete from t where id = 1", command="DELETE")["rule_name"] == "b-custom"
    a = next(r for r in rules if r["name"] == "a-custom")
    expect_error(lambda: s.client.switch_risk_rule_new(dbss.SwitchRiskRuleNewRequest(
        instance_id=s.instance, body=dbss.BatchSwitchesRequest(ids=f"{b['id']},{'x' * 20}", status="OFF"))),
        404, "DBSS.10021004")
    assert all(r["status"] == "ON" for r in s.risks()["rules"]), "nothing switched"
    resp = s.client.switch_risk_rule(dbss.SwitchRiskRuleRequest(
        instance_id=s.instance, body=dbss.BatchSwitchesRequest(ids=f"{b['id']}", status="OFF")))
    assert raw_json(resp) == {"status": "SUCCESS"}
    assert s.ingest("delete from t where id = 2", command="DELETE")["rule_name"] == "a-custom"
    s.client.set_risk_operation_policy(dbss.SetRiskOperationPolicyRequest(
        instance_id=s.instance, id=a["id"], body=risk_body(rule_name="a-custom", action="DELETE",
                                                            risk_level="MEDIUM")))
    assert s.ingest("delete from t where id = 3", command="DELETE")["risk_level"] == "MEDIUM"
    resp = s.client.delete_audit_rule_risk(dbss.DeleteAuditRuleRiskRequest(instance_id=s.instance, id=a["id"]))
    assert raw_json(resp) == {"status": "SUCCESS"}
    assert s.ingest("delete from t where id = 4", command="DELETE")["risk_level"] == "NO_RISK"
    assert s.risks()["customize_total"] == 1
    expect_error(lambda: s.client.show_audit_rule_risk_new(dbss.ShowAuditRuleRiskNewRequest(
        instance_id=s.instance, id=a["id"])), 404, "DBSS.10021004")


def test_sql_injection_rules(s):
    listed = s.sql_rules()
    assert listed["total"] == 10 and len(listed["rules"]) == 10, listed
    for r in listed["rules"]:
        assert set(r) == SQL_RULE_KEYS, r
    assert s.sql_rules(new=False, page=2, size=3, risk_levels="HIGH")["total"] == 6
    taut = next(r for r in listed["rules"] if r["name"] == "SQL_Injection_Tautology")
    assert (taut["type"], taut["status"], taut["risk_level"]) == ("SYSTEM", "ON", "HIGH")

    # Switch a shipped rule off: the tautology is no longer flagged.
    resp = s.client.set_audit_sql_rule_switch(dbss.SetAuditSqlRuleSwitchRequest(
        instance_id=s.instance, body=dbss.RuleSqlIdRequest(id=taut["id"], status="OFF")))
    assert raw_json(resp) == {"status": "SUCCESS"}
    assert s.ingest("select * from t where a = '' or 1=1")["risk_level"] == "NO_RISK"

    # A custom rule, its regex checked; edits and deletion take effect at once.
    bad = dbss.RuleAddSqlRequest(rule_name="bad", risk_level="HIGH", sql_regex="(unclosed", status="ON")
    e = expect_error(lambda: s.client.create_audit_sql_rule(dbss.CreateAuditSqlRuleRequest(
        instance_id=s.instance, body=bad)), 400, "DBSS.10000001")
    assert "sql_regex" in e.error_msg
    good = dbss.RuleAddSqlRequest(rule_name="vault", risk_level="MEDIUM", sql_regex=r"\bvault_keys\b", status="ON")
    assert raw_json(s.client.create_audit_sql_rule(dbss.CreateAuditSqlRuleRequest(instance_id=s.instance,
                                                                                  body=good))) == {"status": "SUCCESS"}
    hit = s.ingest("SELECT * FROM VAULT_KEYS")
    assert (hit["risk_level"], hit["rule_name"]) == ("MEDIUM", "vault"), hit
    custom = next(r for r in s.sql_rules()["rules"] if r["name"] == "vault")
    assert (custom["type"], custom["rank"]) == ("CUSTOMIZE", 11)
    s.client.update_audit_sql_rule(dbss.UpdateAuditSqlRuleRequest(instance_id=s.instance, id=custom["id"], body=dbss.RuleAddSqlRequest(
        rule_name="vault", risk_level="HIGH", sql_regex=r"\bvault_keys\b", status="ON")))
    assert s.ingest("select 1 from vault_keys")["risk_level"] == "HIGH"
    # Rank: the custom rule first.
    resp = s.client.set_sql_rule_rank(dbss.SetSqlRuleRankRequest(
        instance_id=s.instance, body=dbss.RuleSqlIdsRequestNew(ids=[custom["id"]])))
    assert raw_json(resp) == {"status": "SUCCESS"}
    assert [r["name"] for r in s.sql_rules()["rules"]][:2] == ["vault", "SQL_Injection_Stacked_Drop"]
    expect_error(lambda: s.client.update_audit_sql_rule(dbss.UpdateAuditSqlRuleRequest(
        instance_id=s.instance, id=taut["id"], body=good)), 400, "DBSS.10000001")
    expect_error(lambda: s.client.delete_audit_rule_sql(dbss.DeleteAuditRuleSqlRequest(
        instance_id=s.instance, id=taut["id"])), 400, "DBSS.10000001")
    s.client.delete_audit_rule_sql(dbss.DeleteAuditRuleSqlRequest(instance_id=s.instance, id=custom["id"]))
    assert s.ingest("select 2 from vault_keys")["risk_level"] == "NO_RISK"
    assert s.sql_rules()["total"] == 10


def test_alarm_marks_deletion_and_config(s):
    cfg = raw_json(s.client.list_alarm_topic_config_info_new(dbss.ListAlarmTopicConfigInfoNewRequest(
        instance_id=s.instance)))
    assert cfg == {"alarm_cpu": "80", "alarm_disk": "80", "alarm_memory": "80", "alarm_num": "100",
                   "alarm_risk": ["high", "medium"], "alarm_switch": "OFF", "alarm_topic_urn": "",
                   "smn_effective": False}, cfg
    # LOW statements do not alarm until the config says so.
    s.ingest("select * from information_schema.tables")
    body = dbss.AlarmLogRequest(time=dbss.AlarmLogRequestTime(time_range="HOUR"))
    alarms = lambda **kw: raw_json(s.client.list_audit_alarm_log_new(dbss.ListAuditAlarmLogNewRequest(
        instance_id=s.instance, body=dbss.AlarmLogRequest(time=dbss.AlarmLogRequestTime(time_range="HOUR"), **kw))))
    assert alarms()["total_num"] == 0
    resp = s.client.set_alarm_topic_config_info_new(dbss.SetAlarmTopicConfigInfoNewRequest(
        instance_id=s.instance, body=dbss.ConfigAlarmTopicRequest(alarm_risk=["low", "high"], alarm_num=5)))
    assert raw_json(resp) == {"status": "success"}
    cfg = raw_json(s.client.list_alarm_topic_config_info(dbss.ListAlarmTopicConfigInfoRequest(instance_id=s.instance)))
    assert (cfg["alarm_risk"], cfg["alarm_num"], cfg["alarm_cpu"]) == (["low", "high"], "5", "80")
    s.ingest("select * from information_schema.columns")
    s.ingest("select * from t where x = 'a' or 1=1")
    listed = alarms()
    assert listed["total_num"] == 2, listed
    low, high = sorted(listed["alarm_log"], key=lambda a: a["alarm_risk"] != "LOW")
    assert (low["alarm_risk"], high["alarm_risk"]) == ("LOW", "HIGH")
    # Mark one (PUT, no body), then both (batch); idempotent.
    resp = s.client.set_audit_alarm_log_status(dbss.SetAuditAlarmLogStatusRequest(instance_id=s.instance,
                                                                                  id=low["id"]))
    assert raw_json(resp) == {"result": "request_success"}
    assert alarms(status="DONE")["total_num"] == 1
    resp = s.client.batch_set_audit_alarm_log_status(dbss.BatchSetAuditAlarmLogStatusRequest(
        instance_id=s.instance, body=dbss.MarkAlarmLog(ids=[low["id"], high["id"]])))
    assert raw_json(resp) == {"result": "request_success"}
    assert alarms(status="UNDO")["total_num"] == 0
    resp = s.client.delete_audit_alarm_log(dbss.DeleteAuditAlarmLogRequest(instance_id=s.instance, id=low["id"]))
    assert raw_json(resp) == {"result": "request_success"}
    assert [a["id"] for a in alarms()["alarm_log"]] == [high["id"]]
    expect_error(lambda: s.client.delete_audit_alarm_log(dbss.DeleteAuditAlarmLogRequest(
        instance_id=s.instance, id=low["id"])), 404, "DBSS.10021004")
    expect_error(lambda: s.client.set_alarm_topic_config_info_new(dbss.SetAlarmTopicConfigInfoNewRequest(
        instance_id=s.instance, body=dbss.ConfigAlarmTopicRequest(alarm_risk=["severe"]))), 400, "DBSS.10000001")


SCOPE_KEYS = {"id", "name", "action", "status", "exception_ips", "source_ips", "source_ports", "db_ids", "db_names",
              "db_users", "all_audit"}


def test_scopes_decide_what_is_audited(s):
    scopes = lambda new=True: raw_json(
        s.client.list_audit_rule_scopes_new(dbss.ListAuditRuleScopesNewRequest(instance_id=s.instance)) if new
        else s.client.list_audit_rule_scopes(dbss.ListAuditRuleScopesRequest(instance_id=s.instance, limit="10000")))
    listed = scopes()
    assert listed["total"] == 1, listed
    full = listed["scopes"][0]
    assert set(full) == SCOPE_KEYS, full
    assert (full["name"], full["all_audit"], full["status"]) == ("全审计规则", True, "ON"), full
    assert s.ingest("select 1 from anywhere")["db_user"] == "app"
    # A custom scope: only the `app` user's SELECTs from 10.0.0.0/8, except 10.9.9.9.
    body = dbss.RuleScopeRequest(rule_name="app-reads", action="SELECT", db_ids="ALL", db_names="全部数据库",
                                 db_users="app", exception_ips="10.9.9.9", source_ips="10.0.0.0/8",
                                 source_ports="")
    assert raw_json(s.client.create_audit_scope_rule(dbss.CreateAuditScopeRuleRequest(
        instance_id=s.instance, body=body))) == {"status": "SUCCESS"}
    custom = next(x for x in scopes(new=False)["scopes"] if x["name"] == "app-reads")
    assert (custom["all_audit"], custom["status"], custom["db_users"]) == (False, "ON", "app")
    # The full-audit scope wins while it is ON; switched OFF, the custom scope decides.
    resp = s.client.set_audit_scope_rule_switch(dbss.SetAuditScopeRuleSwitchRequest(
        instance_id=s.instance, body=dbss.AuditScopeSwitchRequestNew(ids=[full["id"]], status="OFF")))
    assert raw_json(resp) == {"status": "SUCCESS"}
    assert s.ingest("select 2 from t")["db_user"] == "app"

    def dropped(sql, **extra):
        s.seq += 1
        t = f"drop{s.seq}x"
        ev = {"seq": s.seq, "ts": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"), "kind": "QUERY",
              "session": "s", "user": "app", "database": "orders", "client_ip": "10.0.0.7", "command": "SELECT",
              "sql": f"{sql} /* {t} */", "result": "SUCCESS"}
        ev.update(extra)
        path = f"/v1/{s.pb.bootstrap['project_id']}/audit/{s.instance}/agents/{s.agent_id}/statements"
        resp = signed_call(s.pb, "POST", path, {"batch_id": t, "db_id": s.db_id, "events": [ev]})
        assert resp.status == 200 and resp.json() == {"accepted": 1, "duplicates": 0, "throttled": False}, resp.body
        return list_sqls(s.client, s.instance, sql_statement=t)["total"] == 0

    assert dropped("update t set a = 1", command="UPDATE")
    assert dropped("select 3 from t", user="other")
    assert dropped("select 4 from t", client_ip="10.9.9.9")
    assert dropped("select 5 from t", client_ip="192.168.1.1")
    # Edited to take every user; the full-audit scope cannot be edited or deleted.
    s.client.update_audit_scope_rule(dbss.UpdateAuditScopeRuleRequest(instance_id=s.instance, id=custom["id"],
                                                                      body=dbss.RuleScopeRequest(
        rule_name="app-reads", action="SELECT", source_ips="10.0.0.0/8")))
    assert not dropped("select 6 from t", user="other")
    expect_error(lambda: s.client.update_audit_scope_rule(dbss.UpdateAuditScopeRuleRequest(
        instance_id=s.instance, id=full["id"], body=body)), 400, "DBSS.10000001")
    expect_error(lambda: s.client.delete_audit_scope(dbss.DeleteAuditScopeRequest(instance_id=s.instance,
                                                                                  id=full["id"])),
                 400, "DBSS.10000001")
    expect_error(lambda: s.client.create_audit_scope_rule(dbss.CreateAuditScopeRuleRequest(
        instance_id=s.instance, body=dbss.RuleScopeRequest(rule_name="x", source_ips="nowhere"))), 400,
        "DBSS.10000001")
    # Deleted (batch): no ON scope is left, so nothing is audited; the full-audit scope back ON.
    resp = s.client.batch_delete_audit_scope(dbss.BatchDeleteAuditScopeRequest(
        instance_id=s.instance, body=dbss.AuditScopeRequestNew(ids=[custom["id"]])))
    assert raw_json(resp) == {"status": "SUCCESS"}
    assert dropped("select 7 from t")
    s.client.set_audit_scope_rule_switch(dbss.SetAuditScopeRuleSwitchRequest(
        instance_id=s.instance, body=dbss.AuditScopeSwitchRequestNew(ids=[full["id"]], status="ON")))
    assert not dropped("select 8 from t")
    assert scopes()["total"] == 1


def test_the_cli_shows_statements_rules_alarms_and_agents(s, tmp_path):
    import json as _json
    import os
    import subprocess

    from conftest import _binary

    hit = s.ingest("select * from t where a = '' or 1=1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env.update(PLUGBOARD_ENDPOINT=s.pb.base_url, PLUGBOARD_ACCESS_KEY=s.pb.bootstrap["access_key"],
               PLUGBOARD_SECRET_KEY=s.pb.bootstrap["secret_key"], PLUGBOARD_PROJECT_ID=s.pb.bootstrap["project_id"],
               PLUGBOARD_CLI_CONFIG=str(tmp_path / "none.json"))

    def cli(*args):
        res = subprocess.run([str(_binary()), "audit", *args], env=env, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        return res.stdout

    out = _json.loads(cli("sqls", "--instance", s.instance, "--risk", "HIGH", "-o", "json"))
    assert out["total"] == 1 and out["sqls"][0]["sql"]["id"] == hit["id"], out
    table = cli("sqls", "--instance", s.instance, "--risk", "HIGH")
    assert "SQL_Injection_Tautology" in table and "(1 of 1 matching)" in table, table
    assert "数据库拖库检测" in cli("rules", "--instance", s.instance)
    assert "SQL_Injection_Tautology" in cli("rules", "--instance", s.instance, "--injection")
    assert "RISK_RULE" in cli("alarms", "--instance", s.instance)
    agents = cli("agents", "--instance", s.instance, "--db", s.db_id)
    assert s.agent_id in agents and "abnormal" in agents, agents
