from __future__ import annotations

import json

import pytest

from corral.registry.context import RegistryContext
from corral.registry.errors import (
    DeleteConflict,
    InvalidRequest,
    LimitExceeded,
    MalformedPolicy,
    ResourceAlreadyExists,
    ResourceNotFound,
    VersionsLimitExceeded,
)
from corral.registry.policies import Policies, policies_for_certificate
from corral.registry.principals import Principals
from corral.registry.tags import Tags
from corral.registry.thing_group_members import ThingGroupMembers
from corral.registry.thing_groups import ThingGroups
from corral.registry.things import Things
from tests.registry.conftest import ACCOUNT, REGION, Recorder
from tests.registry.thing_support import expect_error, insert_certificate, kinds

COGNITO = "us-east-1:6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def document(topic: str) -> str:
    resource = f"arn:aws:iot:{REGION}:{ACCOUNT}:topic/{topic}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iot:Publish", "Resource": resource}],
        }
    )


@pytest.fixture
def policies(registry_context: RegistryContext) -> Policies:
    return Policies(registry_context)


async def test_create_get_list_delete_policy(
    registry_context: RegistryContext, policies: Policies, recorder: Recorder
) -> None:
    doc = document("a")
    created = await policies.create_policy(
        {"policyName": "p1", "policyDocument": doc, "tags": [{"Key": "k", "Value": "v"}]}
    )
    arn = f"arn:aws:iot:{REGION}:{ACCOUNT}:policy/p1"
    assert created == {"policyName": "p1", "policyArn": arn, "policyDocument": doc, "policyVersionId": "1"}
    got = await policies.get_policy({"policyName": "p1"})
    assert (got["policyDocument"], got["defaultVersionId"], got["policyArn"]) == (doc, "1", arn)
    assert got["creationDate"].tzinfo is not None and got["generationId"]
    assert (await Tags(registry_context).list_tags_for_resource({"resourceArn": arn}))["tags"] == [
        {"Key": "k", "Value": "v"}
    ]
    error = await expect_error(
        policies.create_policy({"policyName": "p1", "policyDocument": doc}),
        ResourceAlreadyExists,
        "Policy cannot be created - name already exists (name=p1)",
    )
    assert error.extra == {"resourceId": "p1", "resourceArn": arn}
    await expect_error(
        policies.create_policy({"policyName": "bad", "policyDocument": "{not json"}),
        MalformedPolicy,
        "Policy document is Malformed: Invalid policy syntax.",
    )
    too_big = json.dumps({"Version": "2012-10-17", "Statement": [], "Id": "x" * 2100})
    await expect_error(
        policies.create_policy({"policyName": "big", "policyDocument": too_big}), MalformedPolicy
    )
    await expect_error(policies.get_policy({"policyName": "bad"}), ResourceNotFound)

    for name in ("p2", "p3"):
        await policies.create_policy({"policyName": name, "policyDocument": doc})
    first = await policies.list_policies({"pageSize": 2})
    assert first["policies"] == [
        {"policyName": "p3", "policyArn": registry_context.arn("policy/p3")},
        {"policyName": "p2", "policyArn": registry_context.arn("policy/p2")},
    ]
    rest = await policies.list_policies({"pageSize": 2, "marker": first["nextMarker"]})
    assert [p["policyName"] for p in rest["policies"]] == ["p1"] and "nextMarker" not in rest
    ascending = await policies.list_policies({"ascendingOrder": True})
    assert [p["policyName"] for p in ascending["policies"]] == ["p1", "p2", "p3"]

    await policies.delete_policy({"policyName": "p1"})
    await expect_error(policies.get_policy({"policyName": "p1"}), ResourceNotFound)
    await expect_error(policies.delete_policy({"policyName": "p1"}), ResourceNotFound)
    assert kinds(recorder) == [("policy", "p1"), ("policy", "p2"), ("policy", "p3"), ("policy", "p1")]
    # The name is free again, and the old policy's tags went with it.
    await policies.create_policy({"policyName": "p1", "policyDocument": doc})
    assert (await Tags(registry_context).list_tags_for_resource({"resourceArn": arn}))["tags"] == []


async def test_policy_versions(policies: Policies, recorder: Recorder) -> None:
    await policies.create_policy({"policyName": "p", "policyDocument": document("v1")})
    for n in range(2, 6):
        out = await policies.create_policy_version(
            {"policyName": "p", "policyDocument": document(f"v{n}"), "setAsDefault": n == 3}
        )
        assert (out["policyVersionId"], out["isDefaultVersion"]) == (str(n), n == 3)
        assert out["policyDocument"] == document(f"v{n}")
    await expect_error(
        policies.create_policy_version({"policyName": "p", "policyDocument": document("v6")}),
        VersionsLimitExceeded,
        "The policy p already has the maximum number of versions (5)",
    )
    await expect_error(
        policies.create_policy_version({"policyName": "p", "policyDocument": "[]"}), MalformedPolicy
    )
    await expect_error(
        policies.create_policy_version({"policyName": "nope", "policyDocument": document("x")}),
        ResourceNotFound,
    )
    got = await policies.get_policy({"policyName": "p"})
    assert (got["defaultVersionId"], got["policyDocument"]) == ("3", document("v3"))
    listed = (await policies.list_policy_versions({"policyName": "p"}))["policyVersions"]
    assert [(v["versionId"], v["isDefaultVersion"]) for v in listed] == [
        ("5", False),
        ("4", False),
        ("3", True),
        ("2", False),
        ("1", False),
    ]
    assert listed[0]["createDate"].tzinfo is not None
    version = await policies.get_policy_version({"policyName": "p", "policyVersionId": "2"})
    assert (version["policyDocument"], version["isDefaultVersion"], version["policyName"]) == (
        document("v2"),
        False,
        "p",
    )
    for missing in ("9", "x"):
        await expect_error(
            policies.get_policy_version({"policyName": "p", "policyVersionId": missing}), ResourceNotFound
        )

    await policies.set_default_policy_version({"policyName": "p", "policyVersionId": "5"})
    assert (await policies.get_policy({"policyName": "p"}))["policyDocument"] == document("v5")
    await expect_error(
        policies.set_default_policy_version({"policyName": "p", "policyVersionId": "7"}), ResourceNotFound
    )
    await expect_error(
        policies.delete_policy_version({"policyName": "p", "policyVersionId": "5"}), DeleteConflict
    )
    await expect_error(
        policies.delete_policy({"policyName": "p"}),
        DeleteConflict,
        "The policy cannot be deleted as versions other than than default version exist",
    )
    for version_id in ("1", "2", "3"):
        await policies.delete_policy_version({"policyName": "p", "policyVersionId": version_id})
    # Ids keep increasing past the deleted ones.
    out = await policies.create_policy_version({"policyName": "p", "policyDocument": document("v6")})
    assert out["policyVersionId"] == "6"
    for version_id in ("4", "6"):
        await policies.delete_policy_version({"policyName": "p", "policyVersionId": version_id})
    await expect_error(
        policies.delete_policy_version({"policyName": "p", "policyVersionId": "4"}), ResourceNotFound
    )
    # The newest version (6) was deleted: its id is not given again, as on AWS.
    out = await policies.create_policy_version({"policyName": "p", "policyDocument": document("v7")})
    assert out["policyVersionId"] == "7"
    await policies.delete_policy_version({"policyName": "p", "policyVersionId": "7"})
    await policies.delete_policy({"policyName": "p"})
    assert set(kinds(recorder)) == {("policy", "p")}
    # A new policy of the same name is a new policy: it starts again at version 1.
    await policies.create_policy({"policyName": "p", "policyDocument": document("v1")})
    out = await policies.create_policy_version({"policyName": "p", "policyDocument": document("v2")})
    assert out["policyVersionId"] == "2"


async def test_deleting_the_newest_version_does_not_free_its_id(policies: Policies) -> None:
    await policies.create_policy({"policyName": "p", "policyDocument": document("v1")})
    second = await policies.create_policy_version({"policyName": "p", "policyDocument": document("v2")})
    assert second["policyVersionId"] == "2"
    await policies.delete_policy_version({"policyName": "p", "policyVersionId": "2"})
    third = await policies.create_policy_version(
        {"policyName": "p", "policyDocument": document("v3"), "setAsDefault": True}
    )
    assert third["policyVersionId"] == "3"
    await expect_error(
        policies.get_policy_version({"policyName": "p", "policyVersionId": "2"}), ResourceNotFound
    )
    listed = (await policies.list_policy_versions({"policyName": "p"}))["policyVersions"]
    assert [(v["versionId"], v["isDefaultVersion"]) for v in listed] == [("3", True), ("1", False)]


async def test_attach_detach_and_list(
    registry_context: RegistryContext, policies: Policies, recorder: Recorder
) -> None:
    cert = await insert_certificate(registry_context, "c1")
    await ThingGroups(registry_context).create_thing_group({"thingGroupName": "g"})
    group = registry_context.arn("thinggroup/g")
    names = [f"p{n:02d}" for n in range(11)]
    for name in names:
        await policies.create_policy({"policyName": name, "policyDocument": document(name)})
    recorder.changes.clear()

    for target in (cert, group, COGNITO):
        await policies.attach_policy({"policyName": "p00", "target": target})
    await policies.attach_policy({"policyName": "p00", "target": cert})  # again: no-op
    assert kinds(recorder) == [("policy_attachment", t) for t in (cert, group, COGNITO)]
    targets = await policies.list_targets_for_policy({"policyName": "p00"})
    assert targets == {"targets": sorted([cert, group, COGNITO])}
    page = await policies.list_targets_for_policy({"policyName": "p00", "pageSize": 1})
    assert page["targets"] == [sorted([cert, group, COGNITO])[0]] and page["nextMarker"]

    for name in names[1:10]:
        await policies.attach_policy({"policyName": name, "target": cert})
    await expect_error(policies.attach_policy({"policyName": "p10", "target": cert}), LimitExceeded)
    attached = await policies.list_attached_policies({"target": cert})
    assert attached["policies"][0] == {"policyName": "p00", "policyArn": registry_context.arn("policy/p00")}
    assert [p["policyName"] for p in attached["policies"]] == names[:10]
    first = await policies.list_attached_policies({"target": cert, "pageSize": 4})
    second = await policies.list_attached_policies(
        {"target": cert, "pageSize": 4, "marker": first["nextMarker"]}
    )
    assert [p["policyName"] for p in first["policies"] + second["policies"]] == names[:8]

    await expect_error(
        policies.delete_policy({"policyName": "p00"}),
        DeleteConflict,
        "The policy cannot be deleted as the policy is attached to one or more principals (name=p00)",
    )
    recorder.changes.clear()
    await policies.detach_policy({"policyName": "p01", "target": cert})
    await policies.detach_policy({"policyName": "p01", "target": cert})  # not attached: no-op
    await policies.detach_policy({"policyName": "ghost", "target": cert})  # unknown policy: no-op
    assert kinds(recorder) == [("policy_attachment", cert)]
    await policies.attach_policy({"policyName": "p10", "target": cert})  # room again

    # Unknown and invalid targets.
    unknown_cert = registry_context.arn("cert/" + "f" * 64)
    for target in (
        unknown_cert,
        registry_context.arn("thinggroup/none"),
        cert.replace(ACCOUNT, "000000000000"),
    ):
        await expect_error(policies.attach_policy({"policyName": "p00", "target": target}), ResourceNotFound)
        await expect_error(policies.list_attached_policies({"target": target}), ResourceNotFound)
    for target in ("nonsense", registry_context.arn("thing/t"), "arn:aws:iot:us-east-1:123:cert/"):
        await expect_error(policies.attach_policy({"policyName": "p00", "target": target}), InvalidRequest)
    await expect_error(policies.attach_policy({"policyName": "nope", "target": cert}), ResourceNotFound)
    await expect_error(policies.list_targets_for_policy({"policyName": "nope"}), ResourceNotFound)
    # A certificate ARN with an uppercase id names the same certificate.
    await policies.detach_policy({"policyName": "p10", "target": cert[:-64] + cert[-64:].upper()})
    assert "p10" not in [
        p["policyName"] for p in (await policies.list_attached_policies({"target": cert}))["policies"]
    ]


async def test_group_policies_and_effective_policies(
    registry_context: RegistryContext, policies: Policies
) -> None:
    groups = ThingGroups(registry_context)
    await groups.create_thing_group({"thingGroupName": "root"})
    await groups.create_thing_group({"thingGroupName": "child", "parentGroupName": "root"})
    await groups.create_thing_group({"thingGroupName": "other"})
    await Things(registry_context).create_thing({"thingName": "lamp"})
    await ThingGroupMembers(registry_context).add_thing_to_thing_group(
        {"thingGroupName": "child", "thingName": "lamp"}
    )
    cert = await insert_certificate(registry_context, "c1")
    cert_id = cert.rsplit("/", 1)[1]
    for name, target in (
        ("cert-p", cert),
        ("root-p", registry_context.arn("thinggroup/root")),
        ("child-p", registry_context.arn("thinggroup/child")),
        ("other-p", registry_context.arn("thinggroup/other")),
    ):
        await policies.create_policy({"policyName": name, "policyDocument": document(name)})
        await policies.attach_policy({"policyName": name, "target": target})

    child = registry_context.arn("thinggroup/child")
    direct = await policies.list_attached_policies({"target": child})
    assert [p["policyName"] for p in direct["policies"]] == ["child-p"]
    recursive = await policies.list_attached_policies({"target": child, "recursive": True})
    assert [p["policyName"] for p in recursive["policies"]] == ["child-p", "root-p"]

    async def effective(**params: str) -> list[str]:
        found = (await policies.get_effective_policies(params))["effectivePolicies"]
        for item in found:
            assert item["policyDocument"] == document(item["policyName"])
            assert item["policyArn"] == registry_context.arn(f"policy/{item['policyName']}")
        return [item["policyName"] for item in found]

    assert await effective(principal=cert) == ["cert-p"]
    assert await effective(thingName="lamp") == ["child-p", "root-p"]
    # The thing's groups count for the certificate only when the thing is attached to it.
    assert await effective(principal=cert, thingName="lamp") == ["cert-p"]
    assert await policies_for_certificate(registry_context, cert_id, "lamp") == [document("cert-p")]
    await Principals(registry_context).attach_thing_principal({"thingName": "lamp", "principal": cert})
    assert await effective(principal=cert, thingName="lamp") == ["cert-p", "child-p", "root-p"]
    assert await policies_for_certificate(registry_context, cert_id, "lamp") == [
        document("cert-p"),
        document("child-p"),
        document("root-p"),
    ]
    assert await policies_for_certificate(registry_context, cert_id, None) == [document("cert-p")]
    assert await policies_for_certificate(registry_context, cert_id, "ghost") == [document("cert-p")]
    assert await policies_for_certificate(registry_context, "0" * 64, None) == []
    # The same policy through two routes counts once.
    await policies.attach_policy({"policyName": "root-p", "target": cert})
    assert (await effective(principal=cert, thingName="lamp")).count("root-p") == 1
    # A new default version is what applies next.
    await policies.create_policy_version(
        {"policyName": "root-p", "policyDocument": document("new"), "setAsDefault": True}
    )
    assert await policies_for_certificate(registry_context, cert_id, "lamp") == [
        document("cert-p"),
        document("new"),
        document("child-p"),
    ]

    await expect_error(policies.get_effective_policies({}), InvalidRequest)
    assert await policies.get_effective_policies({"cognitoIdentityPoolId": "us-east-1:pool"}) == {
        "effectivePolicies": []
    }
    await expect_error(policies.get_effective_policies({"thingName": "ghost"}), ResourceNotFound)
    await expect_error(
        policies.get_effective_policies({"principal": registry_context.arn("cert/" + "e" * 64)}),
        ResourceNotFound,
    )


async def test_legacy_principal_policy_operations(
    registry_context: RegistryContext, policies: Policies, recorder: Recorder
) -> None:
    cert = await insert_certificate(registry_context, "c1")
    for name in ("a", "b", "c"):
        await policies.create_policy({"policyName": name, "policyDocument": document(name)})
        await policies.attach_principal_policy({"policyName": name, "principal": cert})
    await policies.attach_principal_policy({"policyName": "a", "principal": COGNITO})

    listed = await policies.list_principal_policies({"principal": cert, "ascendingOrder": True})
    assert [p["policyName"] for p in listed["policies"]] == ["a", "b", "c"]
    newest = await policies.list_principal_policies({"principal": cert, "pageSize": 2})
    assert [p["policyName"] for p in newest["policies"]] == ["c", "b"]
    rest = await policies.list_principal_policies(
        {"principal": cert, "pageSize": 2, "marker": newest["nextMarker"]}
    )
    assert [p["policyName"] for p in rest["policies"]] == ["a"]
    principals = await policies.list_policy_principals({"policyName": "a", "ascendingOrder": True})
    assert principals == {"principals": sorted([cert, COGNITO])}
    # Thing groups are targets, not principals.
    await ThingGroups(registry_context).create_thing_group({"thingGroupName": "g"})
    await policies.attach_policy({"policyName": "a", "target": registry_context.arn("thinggroup/g")})
    assert (await policies.list_policy_principals({"policyName": "a"}))["principals"] == sorted(
        [cert, COGNITO], reverse=True
    )
    await expect_error(
        policies.attach_principal_policy(
            {"policyName": "a", "principal": registry_context.arn("thinggroup/g")}
        ),
        InvalidRequest,
    )

    recorder.changes.clear()
    await policies.detach_principal_policy({"policyName": "b", "principal": cert})
    assert kinds(recorder) == [("policy_attachment", cert)]
    assert [
        p["policyName"] for p in (await policies.list_attached_policies({"target": cert}))["policies"]
    ] == [
        "a",
        "c",
    ]
    await expect_error(
        policies.detach_principal_policy({"policyName": "zz", "principal": cert}), ResourceNotFound
    )
    await expect_error(
        policies.detach_principal_policy(
            {"policyName": "a", "principal": registry_context.arn("cert/" + "d" * 64)}
        ),
        ResourceNotFound,
    )
    await expect_error(policies.list_principal_policies({"principal": "bogus"}), InvalidRequest)
    await expect_error(policies.list_policy_principals({"policyName": "zz"}), ResourceNotFound)
