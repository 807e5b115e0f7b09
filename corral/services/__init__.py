"""The AWS services IoT rules and applications talk to, embedded: each the API subset an IoT app uses,
durable in the store (SQS in ``sqs/``, SNS in ``sns/``; DynamoDB and S3 beside them).

Each service has one service object (``SqsService``, ``SnsService`` …) that the API layer, the rules
engine and other domains call; only that object touches the service's tables.
"""
