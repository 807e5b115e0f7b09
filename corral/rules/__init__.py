"""The rules engine: AWS IoT SQL (``sql/``), substitution templates, the topic-rule API, runner, actions."""
