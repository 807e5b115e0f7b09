// The Node.js runtime of a Corral function worker (see __init__.py for the protocol).
// Loads _HANDLER from LAMBDA_TASK_ROOT, then answers requests one at a time as AWS Lambda's Node.js runtime
// calls a handler: an async handler's promise, or a callback handler's callback(error, result).
"use strict";

const fs = require("fs");
const path = require("path");
const readline = require("readline");
const url = require("url");
const util = require("util");

const responseFd = Number(process.env._CORRAL_RESPONSE_FD);
delete process.env._CORRAL_RESPONSE_FD;
let currentRequestId = "";

function send(message) {
  fs.writeSync(responseFd, JSON.stringify(message) + "\n");
}

function endOfLog(marker) {
  fs.writeSync(1, "\0\0corral:" + marker + "\0\n");
}

function logLine(level, args) {
  const text = util.format.apply(null, args).replace(/\n/g, "\r");
  fs.writeSync(1, `${new Date().toISOString()}\t${currentRequestId || "undefined"}\t${level}\t${text}\n`);
}

console.log = (...args) => logLine("INFO", args);
console.info = (...args) => logLine("INFO", args);
console.warn = (...args) => logLine("WARN", args);
console.error = (...args) => logLine("ERROR", args);
console.debug = (...args) => logLine("DEBUG", args);
console.trace = (...args) => logLine("TRACE", args);

function errorPayload(error) {
  if (error instanceof Error) {
    return {
      errorType: error.name || "Error",
      errorMessage: error.message,
      trace: String(error.stack || "").split("\n"),
    };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

class LoadError extends Error {
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

async function loadHandler(spec) {
  const root = process.env.LAMBDA_TASK_ROOT;
  const dot = spec.lastIndexOf(".");
  if (dot <= 0) {
    throw new LoadError("Runtime.MalformedHandlerName", "Bad handler");
  }
  const modulePath = spec.slice(0, dot);
  const functionName = spec.slice(dot + 1);
  const base = path.resolve(root, modulePath);
  let loaded = null;
  for (const extension of [".js", ".mjs", ".cjs"]) {
    const file = base + extension;
    if (!fs.existsSync(file)) continue;
    if (extension === ".mjs") {
      loaded = await import(url.pathToFileURL(file).href);
    } else {
      try {
        loaded = require(file);
      } catch (error) {
        if (error && error.code === "ERR_REQUIRE_ESM") {
          loaded = await import(url.pathToFileURL(file).href);
        } else {
          throw error;
        }
      }
    }
    break;
  }
  if (loaded === null) {
    throw new LoadError("Runtime.ImportModuleError", `Error: Cannot find module '${modulePath}'`);
  }
  const handler = loaded[functionName] ?? (loaded.default ? loaded.default[functionName] : undefined);
  if (handler === undefined) {
    throw new LoadError("Runtime.HandlerNotFound", `${modulePath}.${functionName} is undefined or not exported`);
  }
  if (typeof handler !== "function") {
    throw new LoadError("Runtime.HandlerNotFound", `${modulePath}.${functionName} is not a function`);
  }
  return handler;
}

function makeContext(request) {
  const env = process.env;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: request.arn,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: request.id,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: undefined,
    clientContext: request.client_context || undefined,
    getRemainingTimeInMillis: () => Math.max(0, request.deadline_ms - Date.now()),
  };
}

function runHandler(handler, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (error, result) => {
      if (settled) return;
      settled = true;
      if (error !== null && error !== undefined) reject(error);
      else resolve(result);
    };
    try {
      const returned = handler(event, context, callback);
      if (returned && typeof returned.then === "function") {
        returned.then(
          (result) => callback(null, result),
          (error) => callback(error === undefined || error === null ? new Error(String(error)) : error),
        );
      } else if (handler.length < 3) {
        callback(null, returned);
      }
    } catch (error) {
      callback(error);
    }
  });
}

async function main() {
  const started = process.hrtime.bigint();
  let handler;
  try {
    handler = await loadHandler(process.env._HANDLER);
  } catch (error) {
    const payload = errorPayload(error);
    logLine("ERROR", [`Uncaught Exception \t${JSON.stringify(payload)}`]);
    endOfLog("init");
    send({ type: "init", init_ms: 0, error: JSON.stringify(payload) });
    process.exit(0);
  }
  endOfLog("init");
  send({ type: "init", init_ms: Number(process.hrtime.bigint() - started) / 1e6, error: null });
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    const request = JSON.parse(line);
    currentRequestId = request.id;
    let ok = true;
    let body;
    try {
      const result = await runHandler(handler, JSON.parse(request.payload), makeContext(request));
      body = result === undefined ? "null" : JSON.stringify(result);
    } catch (error) {
      ok = false;
      const payload = errorPayload(error);
      logLine("ERROR", [`Invoke Error \t${JSON.stringify(payload)}`]);
      body = JSON.stringify(payload);
    }
    endOfLog(request.id);
    send({ type: "result", id: request.id, ok, body, max_rss_kb: process.resourceUsage().maxRSS });
    currentRequestId = "";
  }
}

main();
