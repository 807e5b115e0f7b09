from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from corral.broker.limits import Limits
from corral.broker.message import Message
from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest, RegistryError, ResourceAlreadyExists, Unauthorized
from corral.rules.api import SqlParse, TopicRules
from corral.store.schema import tags
from tests.rules.support import ACCOUNT, REGION, Harness, make_harness, republish

ARN = f"arn:aws:iot:{REGION}:{ACCOUNT}:rule/"


@pytest.fixture
def harness() -> Harness:
    return make_harness()


@pytest.fixture
def api(registry_context: RegistryContext, harness: Harness) -> TopicRules:
    return TopicRules(registry_context, harness.engine, harness.runner, harness.services, Limits())


def payload(sql: str = "SELECT * FROM 'in/+'", **extra: Any) -> dict[str, Any]:
    return {"sql": sql, "actions": [republish("out/${topic(2)}")], **extra}


async def expect(error: type[RegistryError], message: str, call: Any) -> None:
    with pytest.raises(error) as caught:
        await call
    assert caught.value.message == message


async def test_create_get_and_run(api: TopicRules, harness: Harness) -> None:
    await api.create_topic_rule({"ruleName": "r1", "topicRulePayload": payload(description="d")})
    got = await api.get_topic_rule({"ruleName": "r1"})
    assert got["ruleArn"] == ARN + "r1"
    rule = got["rule"]
    assert isinstance(rule.pop("createdAt"), datetime)
    assert rule == {
        "ruleName": "r1",
        "sql": "SELECT * FROM 'in/+'",
        "description": "d",
        "actions": [republish("out/${topic(2)}")],
        "ruleDisabled": False,
        "awsIotSqlVersion": "2015-10-08",
    }
    await harness.send(Message("in/x", b"{}", 0))
    assert [m.topic for m in harness.published] == ["out/x"]


async def test_errors(api: TopicRules) -> None:
    await api.create_topic_rule({"ruleName": "r1", "topicRulePayload": payload()})
    await expect(
        ResourceAlreadyExists,
        "Rule r1 already exists",
        api.create_topic_rule({"ruleName": "r1", "topicRulePayload": payload()}),
    )
    await expect(
        SqlParse,
        "Line 1:1 no viable alternative at input 'SELECT bad'",
        api.create_topic_rule({"ruleName": "r2", "topicRulePayload": payload("SELECT bad")}),
    )
    await expect(
        InvalidRequest,
        "Function unsupported is not supported by Corral",
        api.create_topic_rule(
            {"ruleName": "r2", "topicRulePayload": payload("SELECT unsupported() FROM 'a'")}
        ),
    )
    refused = {"sql": "SELECT * FROM 'a'", "actions": [{"timestream": {"roleArn": "r"}}]}
    with pytest.raises(InvalidRequest, match="Corral does not offer the timestream rule action yet"):
        await api.create_topic_rule({"ruleName": "r2", "topicRulePayload": refused})
    with pytest.raises(InvalidRequest, match="at most 10 actions"):
        await api.create_topic_rule(
            {
                "ruleName": "r2",
                "topicRulePayload": {"sql": "SELECT * FROM 'a'", "actions": [republish("o")] * 11},
            }
        )
    with pytest.raises(InvalidRequest, match="awsIotSqlVersion"):
        await api.create_topic_rule(
            {"ruleName": "r2", "topicRulePayload": payload(awsIotSqlVersion="2020-01-01")}
        )
    with pytest.raises(InvalidRequest, match="Invalid substitution template"):
        await api.create_topic_rule(
            {
                "ruleName": "r2",
                "topicRulePayload": {"sql": "SELECT * FROM 'a'", "actions": [republish("${bad x}")]},
            }
        )
    # Nothing refused was stored.
    assert [r["ruleName"] for r in (await api.list_topic_rules({}))["rules"]] == ["r1"]
    denied = "Access to topic rule 'nope' was denied"
    for call in (
        api.get_topic_rule({"ruleName": "nope"}),
        api.delete_topic_rule({"ruleName": "nope"}),
        api.enable_topic_rule({"ruleName": "nope"}),
        api.disable_topic_rule({"ruleName": "nope"}),
        api.replace_topic_rule({"ruleName": "nope", "topicRulePayload": payload()}),
    ):
        await expect(Unauthorized, denied, call)


async def test_replace_enable_disable_delete(api: TopicRules, harness: Harness) -> None:
    await api.create_topic_rule({"ruleName": "r", "topicRulePayload": payload()})
    created = (await api.get_topic_rule({"ruleName": "r"}))["rule"]["createdAt"]
    await api.replace_topic_rule(
        {"ruleName": "r", "topicRulePayload": payload("SELECT * FROM 'other'", awsIotSqlVersion="2016-03-23")}
    )
    rule = (await api.get_topic_rule({"ruleName": "r"}))["rule"]
    assert rule["sql"] == "SELECT * FROM 'other'" and rule["createdAt"] == created
    assert rule["awsIotSqlVersion"] == "2016-03-23"
    await harness.send(Message("in/x", b"{}", 0))
    await harness.send(Message("other", b"{}", 0))
    assert [m.topic for m in harness.published] == ["out/"]

    await api.disable_topic_rule({"ruleName": "r"})
    assert (await api.get_topic_rule({"ruleName": "r"}))["rule"]["ruleDisabled"] is True
    await harness.send(Message("other", b"{}", 0))
    await api.enable_topic_rule({"ruleName": "r"})
    await harness.send(Message("other", b"{}", 0))
    assert len(harness.published) == 2

    await api.delete_topic_rule({"ruleName": "r"})
    await harness.send(Message("other", b"{}", 0))
    assert len(harness.published) == 2 and "r" not in harness.runner.rules


async def test_list_filters_and_pages(api: TopicRules) -> None:
    for name, sql, disabled in [
        ("a", "SELECT * FROM 't/1'", False),
        ("b", "SELECT * FROM 't/2'", True),
        ("c", "SELECT * FROM 't/1'", True),
        ("d", "SELECT * FROM 't/3'", False),
    ]:
        await api.create_topic_rule(
            {"ruleName": name, "topicRulePayload": payload(sql, ruleDisabled=disabled)}
        )
    listed = await api.list_topic_rules({})
    first = listed["rules"][0]
    assert isinstance(first.pop("createdAt"), datetime)
    assert first == {"ruleArn": ARN + "a", "ruleName": "a", "topicPattern": "t/1", "ruleDisabled": False}
    assert [r["ruleName"] for r in (await api.list_topic_rules({"topic": "t/1"}))["rules"]] == ["a", "c"]
    assert [r["ruleName"] for r in (await api.list_topic_rules({"ruleDisabled": True}))["rules"]] == [
        "b",
        "c",
    ]
    page = await api.list_topic_rules({"maxResults": 3})
    assert [r["ruleName"] for r in page["rules"]] == ["a", "b", "c"]
    rest = await api.list_topic_rules({"maxResults": 3, "nextToken": page["nextToken"]})
    assert [r["ruleName"] for r in rest["rules"]] == ["d"] and "nextToken" not in rest


async def test_tags_on_create_and_delete(api: TopicRules, registry_context: RegistryContext) -> None:
    await api.create_topic_rule(
        {"ruleName": "r", "topicRulePayload": payload(), "tags": "env=prod&team=a%26b&empty="}
    )

    async def stored() -> list[tuple[str, str]]:
        async with registry_context.store.read() as conn:
            rows = await conn.execute(
                select(tags.c.tag_key, tags.c.tag_value).where(tags.c.resource_arn == ARN + "r")
            )
            return sorted((row.tag_key, row.tag_value) for row in rows)

    assert await stored() == [("empty", ""), ("env", "prod"), ("team", "a&b")]
    await api.delete_topic_rule({"ruleName": "r"})
    assert await stored() == []


async def test_load_rebuilds_the_runner_from_the_store(
    registry_context: RegistryContext, api: TopicRules
) -> None:
    await api.create_topic_rule({"ruleName": "on", "topicRulePayload": payload("SELECT * FROM 'x'")})
    await api.create_topic_rule(
        {"ruleName": "off", "topicRulePayload": payload("SELECT * FROM 'y'", ruleDisabled=True)}
    )
    fresh = make_harness()
    again = TopicRules(registry_context, fresh.engine, fresh.runner, fresh.services, Limits())
    assert await again.load() == 2
    assert fresh.runner.rules["off"].disabled and not fresh.runner.rules["on"].disabled
    await fresh.send(Message("x", b"{}", 0))
    await fresh.send(Message("y", b"{}", 0))
    assert [m.topic for m in fresh.published] == ["out/"]
