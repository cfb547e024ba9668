"""Runs moto's server for the emulator harness.

Differences from `moto_server`:
- binds a free port on 127.0.0.1 and prints `MOTO_LISTENING <port>` once it accepts connections;
- fixes moto 5.2.1's "only the first execution works" bug: StartExecution deep-copies the state
  machine together with its running executions, which hold locks and fail to copy
  ("cannot pickle '_thread.RLock'"). The copy made here shares the backend and starts with no
  executions, which is what the interpreter needs;
- imports the Step Functions interpreter in the background once listening, so the first execution
  does not pay for it (about a second);
- passes SendTaskFailure's `cause` on to the execution (5.2.1 drops it);
- keeps FIFO order when several in-flight messages of one message group become visible again (a
  batch a consumer returned): 5.2.1 can deliver a later message of the group before an earlier
  one, and two receives on separate threads can both take messages of one group. Receives are
  serialized, and every in-flight message that is visible again is released before the group
  check, as SQS does;
- reads the clock of SQS messages with time.time(): 5.2.1 converts datetimes for every message of
  a queue on every send (each send computes all queue attributes), which made 1,000 sends to one
  queue take 40 s;
- caches compiled JSONPath expressions: 5.2.1 compiles the default input paths of an EventBridge
  target again for every event delivered (about 0.1 s each, so 1,000 events took minutes);
- exits when its standard input closes, so it never outlives the test process that started it.

MOTO_PORT (set by the harness) is where moto's Step Functions interpreter sends its AWS calls.
Exit code 3 means moto is not installed.
"""
import copy
import os
import sys
import threading

try:
    import functools
    import time
    import jsonpath_ng.ext
    import moto.sqs.models
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from moto.core.responses import EmptyResult
    from moto.sqs.models import SQSBackend
    from moto.stepfunctions.models import StateMachine
    from moto.stepfunctions.responses import StepFunctionResponse
    from werkzeug.serving import make_server
except ImportError as err:
    print(f"moto is not importable: {err}", file=sys.stderr)
    sys.exit(3)


def _copy_without_executions(self, memo):
    clone = self.__class__.__new__(self.__class__)
    memo[id(self)] = clone
    for key, value in self.__dict__.items():
        if key == "backend":
            clone.__dict__[key] = value
        elif key == "executions":
            clone.__dict__[key] = []
        else:
            clone.__dict__[key] = copy.deepcopy(value, memo)
    return clone


StateMachine.__deepcopy__ = _copy_without_executions


def _send_task_failure_with_cause(self):
    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


StepFunctionResponse.send_task_failure = _send_task_failure_with_cause


moto.sqs.models.unix_time_millis = lambda: time.time() * 1000
jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)

_receive_lock = threading.Lock()
_receive_message = SQSBackend.receive_message


def _receive_message_in_fifo_order(self, queue_name, *args, **kwargs):
    with _receive_lock:
        queue = self.get_queue(queue_name)
        for message in [m for m in queue.pending_messages if m.visible]:
            queue.pending_messages.remove(message)
        return _receive_message(self, queue_name, *args, **kwargs)


SQSBackend.receive_message = _receive_message_in_fifo_order


def _exit_when_parent_goes_away():
    sys.stdin.read()
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: the server thread would keep a normal exit waiting.
    os._exit(0)


def _import_interpreter():
    import boto3
    import moto.stepfunctions.parser.models  # noqa: F401
    boto3.client("lambda", region_name="us-east-1", endpoint_url="http://localhost:1")


def main():
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=_exit_when_parent_goes_away, daemon=True).start()
    print(f"MOTO_LISTENING {server.server_port}", flush=True)
    threading.Thread(target=_import_interpreter, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
