"""The Lambda API subset deploy tools use, over FunctionService: one public method per operation.

Each method takes the operation's input members as botocore's ``lambda`` model names them and returns its
output members (``LambdaAPI.handler`` finds them by operation name, in snake case).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from corral.functions import runtime
from corral.functions.errors import (
    InvalidParameterValue,
    PreconditionFailed,
    ResourceConflict,
    ResourceNotFound,
    Validation,
)
from corral.functions.repository import AlreadyExists, FunctionRecord
from corral.functions.service import FunctionService, decode_client_context
from corral.store.schema import epoch_now

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]

RESERVED_VARIABLES = frozenset(
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    }
)  # fmt: skip
DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY = 128
MAX_TIMEOUT = 900
MAX_MEMORY = 10240
DEFAULT_MAX_ITEMS = 50


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def last_modified(epoch: float) -> str:
    """Lambda's ``LastModified``: ``2026-11-22T10:00:00.000+0000``."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


class LambdaAPI:
    def __init__(self, service: FunctionService, code_url: Callable[[str, str], str]) -> None:
        """``code_url(name, revision)``: where GetFunction's ``Code.Location`` lets a caller download a
        package."""
        self.service = service
        self.code_url = code_url

    def handler(self, operation_name: str) -> Handler | None:
        name = _snake(operation_name)
        if name.startswith("_") or name == "handler":
            return None
        method = getattr(self, name, None)
        return method if callable(method) else None

    # -- configuration ----------------------------------------------------------------------------------

    def configuration(self, record: FunctionRecord) -> dict[str, Any]:
        config: dict[str, Any] = {
            "FunctionName": record.name,
            "FunctionArn": record.arn,
            "Runtime": record.runtime,
            "Role": record.role,
            "Handler": record.handler,
            "CodeSize": record.code_size,
            "Description": record.description,
            "Timeout": record.timeout,
            "MemorySize": record.memory_size,
            "LastModified": last_modified(record.last_modified),
            "CodeSha256": record.code_sha256,
            "Version": "$LATEST",
            "TracingConfig": {"Mode": "PassThrough"},
            "RevisionId": record.revision_id,
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": ["x86_64"],
            "EphemeralStorage": {"Size": 512},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{record.name}"},
        }
        if record.environment is not None:
            config["Environment"] = {"Variables": dict(record.environment)}
        return config

    # -- operations -------------------------------------------------------------------------------------

    async def create_function(self, params: dict[str, Any]) -> dict[str, Any]:
        service = self.service
        name = service.name_of(params["FunctionName"])
        if params.get("PackageType", "Zip") != "Zip":
            raise InvalidParameterValue("Corral runs .zip deployment packages only (PackageType Zip)")
        if not params.get("Runtime") or not params.get("Handler"):
            raise InvalidParameterValue(
                "Runtime and Handler are mandatory parameters for functions created with deployment packages."
            )
        runtime.resolve(params["Runtime"])
        timeout, memory = _limits(
            params.get("Timeout", DEFAULT_TIMEOUT), params.get("MemorySize", DEFAULT_MEMORY)
        )
        environment = _environment(params.get("Environment"))
        zip_file = _zip_file(params.get("Code") or {})
        async with service.lock(name):
            if name in {record.name for record in service.records()}:
                raise ResourceConflict(f"Function already exist: {name}")
            package = await asyncio.to_thread(service.code.unpack, name, zip_file)
            now = epoch_now()
            record = FunctionRecord(
                name=name,
                arn=service.arn_of(name),
                runtime=params["Runtime"],
                handler=params["Handler"],
                role=params["Role"],
                description=params.get("Description", ""),
                timeout=timeout,
                memory_size=memory,
                environment=environment,
                code_sha256=package.sha256,
                code_size=package.size,
                code_revision=package.revision,
                revision_id=service.new_revision_id(),
                reserved_concurrency=None,
                created_at=now,
                last_modified=now,
            )
            try:
                await service.repository.insert(record)
            except AlreadyExists:
                await asyncio.to_thread(service.code.discard, name, package.revision)
                raise ResourceConflict(f"Function already exist: {name}") from None
            except BaseException:
                await asyncio.to_thread(service.code.discard, name, package.revision)
                raise
            await service.changed(record)
        return self.configuration(record)

    async def update_function_code(self, params: dict[str, Any]) -> dict[str, Any]:
        service = self.service
        name = service.name_of(params["FunctionName"])
        if params.get("ImageUri") or params.get("S3Bucket") or params.get("S3Key"):
            raise InvalidParameterValue(_CODE_SOURCES)
        if "ZipFile" not in params:
            raise InvalidParameterValue("Please provide a source for function code.")
        async with service.lock(name):
            record = await service.record(name)
            _check_revision(record, params.get("RevisionId"))
            if params.get("DryRun"):
                return self.configuration(record)
            package = await asyncio.to_thread(service.code.unpack, name, params["ZipFile"])
            updated = record.with_changes(
                code_sha256=package.sha256,
                code_size=package.size,
                code_revision=package.revision,
                revision_id=service.new_revision_id(),
                last_modified=epoch_now(),
            )
            await self._save(record, updated, discard=package.revision)
        return self.configuration(updated)

    async def update_function_configuration(self, params: dict[str, Any]) -> dict[str, Any]:
        service = self.service
        name = service.name_of(params["FunctionName"])
        async with service.lock(name):
            record = await service.record(name)
            _check_revision(record, params.get("RevisionId"))
            changes: dict[str, Any] = {}
            if "Runtime" in params:
                runtime.resolve(params["Runtime"])
                changes["runtime"] = params["Runtime"]
            for member, field in (("Handler", "handler"), ("Role", "role"), ("Description", "description")):
                if member in params:
                    changes[field] = params[member]
            timeout, memory = _limits(
                params.get("Timeout", record.timeout), params.get("MemorySize", record.memory_size)
            )
            changes.update(timeout=timeout, memory_size=memory)
            if "Environment" in params:
                changes["environment"] = _environment(params["Environment"])
            updated = record.with_changes(
                **changes, revision_id=service.new_revision_id(), last_modified=epoch_now()
            )
            await self._save(record, updated)
        return self.configuration(updated)

    async def get_function(self, params: dict[str, Any]) -> dict[str, Any]:
        record = await self._record(params)
        output: dict[str, Any] = {
            "Configuration": self.configuration(record),
            "Code": {"RepositoryType": "S3", "Location": self.code_url(record.name, record.code_revision)},
        }
        if record.reserved_concurrency is not None:
            output["Concurrency"] = {"ReservedConcurrentExecutions": record.reserved_concurrency}
        return output

    async def get_function_configuration(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.configuration(await self._record(params))

    async def list_functions(self, params: dict[str, Any]) -> dict[str, Any]:
        records = self.service.records()
        marker = params.get("Marker")
        start = 0
        if marker:
            try:
                after = base64.urlsafe_b64decode(marker.encode()).decode()
            except (ValueError, UnicodeDecodeError):
                raise InvalidParameterValue("Invalid marker") from None
            start = next((i for i, record in enumerate(records) if record.name > after), len(records))
        max_items = int(params.get("MaxItems") or DEFAULT_MAX_ITEMS)
        page = records[start : start + max_items]
        output: dict[str, Any] = {"Functions": [self.configuration(record) for record in page]}
        if start + max_items < len(records):
            output["NextMarker"] = base64.urlsafe_b64encode(page[-1].name.encode()).decode()
        return output

    async def delete_function(self, params: dict[str, Any]) -> dict[str, Any]:
        service = self.service
        name = service.name_of(params["FunctionName"], params.get("Qualifier"))
        async with service.lock(name):
            await service.record(name)
            if not await service.repository.delete(name):
                raise ResourceNotFound(f"Function not found: {service.arn_of(name)}")
            await service.deleted(name)
        return {"StatusCode": 204}

    async def invoke(self, params: dict[str, Any]) -> dict[str, Any]:
        invocation_type = params.get("InvocationType") or "RequestResponse"
        result = await self.service.invoke(
            params["FunctionName"],
            params.get("Payload") or b"",
            invocation_type,
            tail_log=params.get("LogType") == "Tail",
            client_context=decode_client_context(params.get("ClientContext")),
            qualifier=params.get("Qualifier"),
        )
        output: dict[str, Any] = {"StatusCode": result.status_code, "Payload": result.payload}
        if invocation_type == "RequestResponse":
            output["ExecutedVersion"] = result.executed_version
            if result.function_error is not None:
                output["FunctionError"] = result.function_error
            if params.get("LogType") == "Tail":
                output["LogResult"] = base64.b64encode(result.log_tail.encode()).decode()
        return output

    # -- concurrency ------------------------------------------------------------------------------------

    async def put_function_concurrency(self, params: dict[str, Any]) -> dict[str, Any]:
        service = self.service
        name = service.name_of(params["FunctionName"])
        value = int(params["ReservedConcurrentExecutions"])
        async with service.lock(name):
            record = await service.record(name)
            await self._save(record, record.with_changes(reserved_concurrency=value))
        return {"ReservedConcurrentExecutions": value}

    async def get_function_concurrency(self, params: dict[str, Any]) -> dict[str, Any]:
        record = await self._record(params)
        if record.reserved_concurrency is None:
            return {}
        return {"ReservedConcurrentExecutions": record.reserved_concurrency}

    async def delete_function_concurrency(self, params: dict[str, Any]) -> dict[str, Any]:
        service = self.service
        name = service.name_of(params["FunctionName"])
        async with service.lock(name):
            record = await service.record(name)
            await self._save(record, record.with_changes(reserved_concurrency=None))
        return {}

    # -- permissions ------------------------------------------------------------------------------------

    async def add_permission(self, params: dict[str, Any]) -> dict[str, Any]:
        service = self.service
        name = service.name_of(params["FunctionName"], params.get("Qualifier"))
        async with service.lock(name):
            record = await service.record(name)
            _check_revision(record, params.get("RevisionId"))
            statement = _statement(params, record.arn)
            revision = service.new_revision_id()
            try:
                await service.repository.add_statement(
                    name, params["StatementId"], statement, epoch_now(), revision
                )
            except AlreadyExists:
                raise ResourceConflict(
                    "The statement id (sid) provided already exists. Please choose a new statement id, or "
                    "remove the existing statement."
                ) from None
            await service.changed(record.with_changes(revision_id=revision))
        return {"Statement": orjson.dumps(statement).decode()}

    async def remove_permission(self, params: dict[str, Any]) -> dict[str, Any]:
        service = self.service
        name = service.name_of(params["FunctionName"], params.get("Qualifier"))
        async with service.lock(name):
            record = await service.record(name)
            _check_revision(record, params.get("RevisionId"))
            revision = service.new_revision_id()
            if not await service.repository.remove_statement(name, params["StatementId"], revision):
                raise ResourceNotFound(f"Statement {params['StatementId']} is not found in resource policy.")
            await service.changed(record.with_changes(revision_id=revision))
        return {}

    async def get_policy(self, params: dict[str, Any]) -> dict[str, Any]:
        record = await self._record(params)
        statements = await self.service.repository.statements(record.name)
        if not statements:
            raise ResourceNotFound("The resource you requested does not exist.")
        policy = {"Version": "2012-10-17", "Id": "default", "Statement": statements}
        return {"Policy": orjson.dumps(policy).decode(), "RevisionId": record.revision_id}

    # -- helpers ----------------------------------------------------------------------------------------

    async def _record(self, params: dict[str, Any]) -> FunctionRecord:
        name = self.service.name_of(params["FunctionName"], params.get("Qualifier"))
        return await self.service.record(name)

    async def _save(
        self, record: FunctionRecord, updated: FunctionRecord, discard: str | None = None
    ) -> None:
        service = self.service
        try:
            saved = await service.repository.save(updated, record.revision_id)
        except BaseException:
            if discard is not None:
                await asyncio.to_thread(service.code.discard, record.name, discard)
            raise
        if not saved:
            if discard is not None:
                await asyncio.to_thread(service.code.discard, record.name, discard)
            raise PreconditionFailed(
                "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/"
                "GetAlias API to retrieve the latest Revision Id"
            )
        await service.changed(updated)


_CODE_SOURCES = "Corral takes a function's code as ZipFile only (S3Bucket, S3Key, ImageUri are not offered)."


def _zip_file(code: dict[str, Any]) -> bytes:
    if code.get("ImageUri") or code.get("S3Bucket") or code.get("S3Key"):
        raise InvalidParameterValue(_CODE_SOURCES)
    data = code.get("ZipFile")
    if not data:
        raise InvalidParameterValue("Please provide a source for function code.")
    return bytes(data)


def _limits(timeout: int, memory: int) -> tuple[int, int]:
    errors: list[str] = []
    if not 1 <= timeout <= MAX_TIMEOUT:
        bound = "greater than or equal to 1" if timeout < 1 else f"less than or equal to {MAX_TIMEOUT}"
        errors.append(
            f"Value '{timeout}' at 'timeout' failed to satisfy constraint: Member must have value {bound}"
        )
    if not 128 <= memory <= MAX_MEMORY:
        bound = "greater than or equal to 128" if memory < 128 else f"less than or equal to {MAX_MEMORY}"
        errors.append(
            f"Value '{memory}' at 'memorySize' failed to satisfy constraint: Member must have value {bound}"
        )
    if errors:
        count = len(errors)
        raise Validation(f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(errors))
    return timeout, memory


def _environment(environment: dict[str, Any] | None) -> dict[str, str] | None:
    if environment is None:
        return None
    variables = {str(k): str(v) for k, v in (environment.get("Variables") or {}).items()}
    reserved = sorted(set(variables) & RESERVED_VARIABLES)
    if reserved:
        raise InvalidParameterValue(
            "Lambda was unable to configure your environment variables because the environment variables "
            "you have provided contains reserved keys that are currently not supported for modification. "
            f"Reserved keys used in this request: {', '.join(reserved)}"
        )
    return variables


def _check_revision(record: FunctionRecord, revision_id: str | None) -> None:
    if revision_id is not None and revision_id != record.revision_id:
        raise PreconditionFailed(
            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias "
            "API to retrieve the latest Revision Id"
        )


def _statement(params: dict[str, Any], resource: str) -> dict[str, Any]:
    """The policy statement AddPermission adds, shaped as GetPolicy shows it."""
    principal_text = str(params["Principal"])
    principal: Any
    if principal_text == "*":
        principal = "*"
    elif principal_text.endswith(".amazonaws.com") or principal_text.endswith(".amazon.com"):
        principal = {"Service": principal_text}
    elif principal_text.isdigit() and len(principal_text) == 12:
        principal = {"AWS": f"arn:aws:iam::{principal_text}:root"}
    else:
        principal = {"AWS": principal_text}
    statement: dict[str, Any] = {
        "Sid": params["StatementId"],
        "Effect": "Allow",
        "Principal": principal,
        "Action": params["Action"],
        "Resource": resource,
    }
    condition: dict[str, dict[str, str]] = {}
    if params.get("SourceAccount"):
        condition.setdefault("StringEquals", {})["AWS:SourceAccount"] = params["SourceAccount"]
    if params.get("PrincipalOrgID"):
        condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = params["PrincipalOrgID"]
    if params.get("EventSourceToken"):
        condition.setdefault("StringEquals", {})["lambda:EventSourceToken"] = params["EventSourceToken"]
    if params.get("FunctionUrlAuthType"):
        condition.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = params["FunctionUrlAuthType"]
    if params.get("SourceArn"):
        condition["ArnLike"] = {"AWS:SourceArn": params["SourceArn"]}
    if condition:
        statement["Condition"] = condition
    return statement
