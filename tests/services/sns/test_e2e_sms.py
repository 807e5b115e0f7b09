"""SNS Publish with PhoneNumber (an SMS straight to a number, no topic) through the configured SMS gateway,
with the real aws CLI and boto3 against ``corral serve``."""

from __future__ import annotations

import json
import queue
from collections.abc import Iterator

import pytest

from tests.aws_cli import aws
from tests.harness import RunningServer, make_server, serving
from tests.mail_support import SmsGateway, sms_gateway


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with sms_gateway() as url:
        yield from serving(
            make_server(tmp_path_factory.mktemp("sns-sms"), config_toml=f'sms_gateway_url = "{url}"\n')
        )


def next_sms() -> dict[str, str]:
    message: dict[str, str] = SmsGateway.received.get(timeout=20)
    return message


def test_the_aws_cli_sends_an_sms_to_a_phone_number(server: RunningServer) -> None:
    """``aws sns publish --phone-number``: one SMS to the number, its text the message."""
    done = aws(
        server, "sns", "publish", "--phone-number", "+15555550100", "--message", "Truck 7 is on its way"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["MessageId"]
    assert next_sms() == {"phoneNumber": "+15555550100", "message": "Truck 7 is on its way"}


def test_message_structure_json_picks_the_sms_text(server: RunningServer) -> None:
    sns = server.client("sns")
    sns.publish(
        PhoneNumber="+442071838750",
        MessageStructure="json",
        Message=json.dumps({"default": "long text for everyone", "sms": "short"}),
    )
    assert next_sms() == {"phoneNumber": "+442071838750", "message": "short"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"PhoneNumber": "5555550100"},  # not E.164
        {"PhoneNumber": "+0123"},
        {"PhoneNumber": "+15555550100", "TopicArn": "arn:aws:sns:us-east-1:000000000000:t"},
    ],
)
def test_bad_phone_numbers_are_invalid_parameters(server: RunningServer, kwargs: dict[str, str]) -> None:
    sns = server.client("sns")
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.publish(Message="hi", **kwargs)
    with pytest.raises(queue.Empty):
        SmsGateway.received.get_nowait()
