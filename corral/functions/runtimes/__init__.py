"""The programs a worker process runs: one bootstrap per language, speaking Corral's worker protocol.

The protocol (``corral/functions/worker.py`` is the other end):

- requests arrive on stdin, one JSON object per line: ``id``, ``payload`` (the event as JSON text),
  ``deadline_ms`` (epoch milliseconds), ``arn`` (the ARN the caller invoked), ``client_context``;
- answers leave on the file descriptor named by ``_CORRAL_RESPONSE_FD``, one JSON object per line: first
  ``{"type": "init", "init_ms", "error"}`` once the handler is loaded (or failed to load: the worker then
  exits), then ``{"type": "result", "id", "ok", "body", "max_rss_kb"}`` per request, ``body`` being the
  JSON text of the return value or of AWS's error payload;
- stdout and stderr are the function's log; after the init and after each request the bootstrap writes the
  marker ``\\0\\0corral:{id}\\0\\n`` there (``init`` for the init), so the server knows which log lines
  belong to which invocation.

The bootstraps import nothing from Corral: a function sees only its own code, the standard library and what
the interpreter has installed (boto3 for Python).
"""

from pathlib import Path

RUNTIMES_DIR = Path(__file__).parent
PYTHON_BOOTSTRAP = RUNTIMES_DIR / "python_bootstrap.py"
NODE_BOOTSTRAP = RUNTIMES_DIR / "node_bootstrap.js"
