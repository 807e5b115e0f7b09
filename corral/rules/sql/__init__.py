"""AWS IoT SQL: parsed with lark, compiled once per rule into Python closures (never ``eval``).

INTERFACE (being implemented; the names below are the contract other packages code against):

- ``compile_statement(sql, sql_version="2016-03-23") -> CompiledStatement``; raises ``SqlParseError``
  (with ``line`` and ``column``; the topic-rule API answers it as ``SqlParseException``) or
  ``UnsupportedFunction`` (a function that needs an AWS service Corral does not host: the API answers
  ``InvalidRequestException`` naming it).
- ``CompiledStatement.topic_filter``: the FROM clause's MQTT topic filter; ``.sql_version``; ``.uses_external``
  (True when evaluation calls ``EvalContext.external``: the runner then evaluates off the event loop);
  ``.evaluate(ctx) -> Value | NoMatch``: the statement's output for one message, or ``NO_MATCH`` when the
  WHERE clause is not true.
- ``output_payload(value) -> bytes``: the bytes an action sends for a statement output (JSON, or the raw bytes
  of a binary payload selected with ``*``).
"""
