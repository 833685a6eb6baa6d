"""The local stack: the invoker (`make invoke`), the local API gateway, the SQS poller, the
schedules, the dev stack (`make dev`), the in-process World of the tests, and the one stack-setup
path both use (setup), with their AWS/template/Lambda-runtime/log helpers."""
