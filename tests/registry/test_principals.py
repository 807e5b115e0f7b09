from __future__ import annotations

import pytest

from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest, ResourceNotFound
from corral.registry.principals import Principals
from corral.registry.things import Things
from tests.registry.conftest import Recorder
from tests.registry.thing_support import expect_error, insert_certificate, kinds

COGNITO = "us-east-1:6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


@pytest.fixture
async def principals(registry_context: RegistryContext) -> Principals:
    things = Things(registry_context)
    for name in ("t1", "t2", "t3"):
        await things.create_thing({"thingName": name})
    return Principals(registry_context)


async def test_attach_list_detach(
    registry_context: RegistryContext, principals: Principals, recorder: Recorder
) -> None:
    cert = await insert_certificate(registry_context)
    recorder.changes.clear()
    await principals.attach_thing_principal({"thingName": "t1", "principal": cert})
    await principals.attach_thing_principal({"thingName": "t1", "principal": cert})  # again: no-op
    await principals.attach_thing_principal({"thingName": "t2", "principal": cert})
    await principals.attach_thing_principal({"thingName": "t1", "principal": COGNITO})
    assert kinds(recorder) == [
        ("thing_principal", cert),
        ("thing_principal", cert),
        ("thing_principal", COGNITO),
    ]
    assert await principals.list_thing_principals({"thingName": "t1"}) == {
        "principals": sorted([cert, COGNITO])
    }
    assert await principals.list_principal_things({"principal": cert}) == {"things": ["t1", "t2"]}
    page = await principals.list_principal_things({"principal": cert, "maxResults": 1})
    assert page["things"] == ["t1"]
    rest = await principals.list_principal_things(
        {"principal": cert, "maxResults": 1, "nextToken": page["nextToken"]}
    )
    assert rest == {"things": ["t2"]}
    assert await principals.list_thing_principals_v2({"thingName": "t2"}) == {
        "thingPrincipalObjects": [{"principal": cert, "thingPrincipalType": "NON_EXCLUSIVE_THING"}]
    }
    assert await principals.list_principal_things_v2(
        {"principal": cert, "thingPrincipalType": "EXCLUSIVE_THING"}
    ) == {"principalThingObjects": []}
    recorder.changes.clear()
    await principals.detach_thing_principal({"thingName": "t1", "principal": cert})
    await principals.detach_thing_principal({"thingName": "t1", "principal": cert})  # not attached: no-op
    assert kinds(recorder) == [("thing_principal", cert)]
    assert await principals.list_principal_things({"principal": cert}) == {"things": ["t2"]}
    assert await principals.list_thing_principals({"thingName": "t3"}) == {"principals": []}


async def test_errors(registry_context: RegistryContext, principals: Principals) -> None:
    cert = await insert_certificate(registry_context)
    unknown = registry_context.arn("cert/" + "ab" * 32)
    await expect_error(
        principals.attach_thing_principal({"thingName": "nope", "principal": cert}), ResourceNotFound
    )
    await expect_error(
        principals.attach_thing_principal({"thingName": "t1", "principal": unknown}),
        ResourceNotFound,
        f"The certificate {unknown} does not exist",
    )
    elsewhere = cert.replace(registry_context.account_id, "999999999999")
    await expect_error(
        principals.attach_thing_principal({"thingName": "t1", "principal": elsewhere}), ResourceNotFound
    )
    await expect_error(
        principals.attach_thing_principal({"thingName": "t1", "principal": "arn:aws:iam::1:user/bob"}),
        InvalidRequest,
    )
    await expect_error(
        principals.list_thing_principals({"thingName": "nope"}),
        ResourceNotFound,
        "Failed to list principals for thing nope because the thing does not exist in your account",
    )
    await expect_error(principals.list_principal_things({"principal": unknown}), ResourceNotFound)
    await expect_error(
        principals.detach_thing_principal({"thingName": "nope", "principal": cert}), ResourceNotFound
    )


async def test_exclusive_things(registry_context: RegistryContext, principals: Principals) -> None:
    shared = await insert_certificate(registry_context, "shared")
    own = await insert_certificate(registry_context, "own")
    await principals.attach_thing_principal({"thingName": "t1", "principal": shared})
    await principals.attach_thing_principal({"thingName": "t2", "principal": shared})
    await expect_error(
        principals.attach_thing_principal(
            {"thingName": "t3", "principal": shared, "thingPrincipalType": "EXCLUSIVE_THING"}
        ),
        InvalidRequest,
        f"Principal {shared} is attached to thing t1, so it cannot be attached exclusively to thing t3",
    )
    await principals.attach_thing_principal(
        {"thingName": "t1", "principal": own, "thingPrincipalType": "EXCLUSIVE_THING"}
    )
    await expect_error(
        principals.attach_thing_principal({"thingName": "t2", "principal": own}),
        InvalidRequest,
        f"Principal {own} is exclusively attached to thing t1",
    )
    assert await principals.list_principal_things_v2({"principal": own}) == {
        "principalThingObjects": [{"thingName": "t1", "thingPrincipalType": "EXCLUSIVE_THING"}]
    }
    # Re-attaching with another type changes the type.
    await principals.attach_thing_principal({"thingName": "t1", "principal": own})
    await principals.attach_thing_principal({"thingName": "t2", "principal": own})
    objects = await principals.list_thing_principals_v2(
        {"thingName": "t1", "thingPrincipalType": "NON_EXCLUSIVE_THING"}
    )
    assert sorted(o["principal"] for o in objects["thingPrincipalObjects"]) == sorted([own, shared])
