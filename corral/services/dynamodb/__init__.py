"""The embedded DynamoDB: tables and items in the store, the expression language, the JSON API.

``service.DynamoDbService`` is the one object that touches the tables (the API and the rules engine call it);
``values`` holds the attribute-value types, ``keys`` their order-preserving key encoding, ``expressions``
the expression language's parser and ``evaluate`` its semantics.
"""
