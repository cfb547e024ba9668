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
- makes CreateLaunchTemplateVersion honour `SourceVersion` (the new version starts from that
  version's data; what the request passes replaces it key by key) and `ClientToken` (the same token
  on the same template answers the version it created), which moto 5.2.1 ignores;
- compares timestamps in Choice rules as AWS does: moto 5.2.1 only parses `YYYY-MM-DDTHH:MM:SSZ`,
  so fractional seconds and its own `$$.State.EnteredTime` (`+00:00`) never compare;
- refuses a task token whose task timed out with TaskTimedOut, as Step Functions does: 5.2.1
  accepts it, and a late answer then adds a stray TaskSucceeded to the history of a later state
  (5.2.1 also answers a refused token with a 500: it tells the errors apart by the wrong object,
  and its TaskTimedOut error cannot be built);
- lets CreateImage tag the image's snapshot (`TagSpecifications` for `snapshot`: moto 5.2.1 raises
  NotImplementedError);
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
- leaves out an integer member of an answer whose value is not a number (logged): on a busy
  machine 5.2.1 can put a dict in an integer field of an execution's history, and every
  GetExecutionHistory of that execution then answered 500;
- starts EC2 without moto's ~1,200 default public images (MOTO_EC2_LOAD_DEFAULT_AMIS=false): each
  reset built them again inside the first EC2 or SSM call of the next test (SendCommand looks up
  its targets in EC2), which took 0.1 s on an idle machine and over 2 s under load, past the fault
  suites' request timeout. The tests never read those images (moto validates no image id);
- exits when its standard input closes, so it never outlives the test process that started it;
- after the `MOTO_LISTENING` line, writes its standard output to its standard error (the emulator
  log), so a server the test files of one jest worker share needs no reader in the first file.

`POST /emulator/interpreter-port` (body: a port) says where moto's Step Functions interpreter
sends its AWS calls: the harness proxy of the test file that uses the server now.
Exit code 3 means moto is not installed.
"""
import copy
import datetime
import os
import sys
import threading

os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"

try:
    import functools
    import time
    import jsonpath_ng.ext
    import moto.sqs.models
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from moto.core.responses import EmptyResult
    from moto.core.serialize import ResponseSerializer
    from moto.sqs.models import SQSBackend
    from moto.stepfunctions.models import StateMachine
    from moto.stepfunctions.responses import StepFunctionResponse
    from moto.ec2.responses.launch_templates import LaunchTemplates
    from moto.ec2.models.amis import AmiBackend
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.is_operator import IsTimestamp
    from moto.stepfunctions.exceptions import AWSError
    from moto.stepfunctions.parser import api as sfn_api
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import EvalTimeoutError
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
    from moto.stepfunctions.parser.asl.eval.callback.callback import (
        CallbackConsumerTimeout, CallbackPoolManager, CallbackTimeoutError, HeartbeatTimeoutError,
    )
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


_original_create_launch_template_version = LaunchTemplates.create_launch_template_version


def _create_launch_template_version_from_source(self):
    template_id = self._get_param("LaunchTemplateId")
    name = self._get_param("LaunchTemplateName")
    template = (
        self.ec2_backend.get_launch_template(template_id)
        if template_id
        else self.ec2_backend.get_launch_template_by_name(name)
    )
    tokens = template.__dict__.setdefault("_client_tokens", {})
    token = self._get_param("ClientToken")
    if token and token in tokens:
        version = template.get_version(tokens[token])
        return _version_result(self, template, version)
    source = self._get_param("SourceVersion")
    if source:
        data = copy.deepcopy(template.get_version(source).data)
        data.update(self._get_param("LaunchTemplateData", {}))
        self.error_on_dryrun()
        version = template.create_version(data, self._get_param("VersionDescription"))
        result = _version_result(self, template, version)
    else:
        result = _original_create_launch_template_version(self)
        version = template.latest_version()
    if token:
        tokens[token] = version.number
    return result


def _version_result(self, template, version):
    from moto.core.responses import ActionResult

    return ActionResult({
        "LaunchTemplateVersion": {
            "CreateTime": version.create_time,
            "CreatedBy": f"arn:{self.partition}:iam::{self.current_account}:root",
            "DefaultVersion": template.is_default(version),
            "LaunchTemplateData": version.data,
            "LaunchTemplateId": template.id,
            "LaunchTemplateName": template.name,
            "VersionDescription": version.description,
            "VersionNumber": version.number,
        },
    })


LaunchTemplates.create_launch_template_version = _create_launch_template_version_from_source


def _string_to_timestamp(string):
    try:
        parsed = datetime.datetime.fromisoformat(string)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else None


IsTimestamp.string_to_timestamp = staticmethod(_string_to_timestamp)


_evaluate_with_timeout = ExecutionState._evaluate_with_timeout


def _evaluate_and_expire_token_on_timeout(self, env):
    try:
        _evaluate_with_timeout(self, env)
    except (EvalTimeoutError, CallbackTimeoutError, HeartbeatTimeoutError):
        token = env.states.context_object.context_object_data.get("Task", {}).get("Token")
        endpoint = env.callback_pool_manager.get(token) if token else None
        if endpoint is not None:
            endpoint.report(CallbackConsumerTimeout())
        raise


ExecutionState._evaluate_with_timeout = _evaluate_and_expire_token_on_timeout
sfn_api.TaskTimedOut.__init__ = lambda self, message="the task of this token timed out": AWSError.__init__(self, message, "TaskTimedOut")
_notify = CallbackPoolManager.notify


def _notify_unless_timed_out(self, callback_id, outcome):
    endpoint = self.get(callback_id)
    if endpoint is not None and isinstance(endpoint.consumer_error, CallbackConsumerTimeout):
        raise sfn_api.TaskTimedOut()
    return _notify(self, callback_id, outcome)


CallbackPoolManager.notify = _notify_unless_timed_out


_original_create_image = AmiBackend.create_image


def _create_image_with_snapshot_tags(self, instance_id, name, description, tag_specifications):
    snapshot_tags = [t for spec in tag_specifications if spec["ResourceType"] == "snapshot" for t in spec["Tags"]]
    others = [spec for spec in tag_specifications if spec["ResourceType"] != "snapshot"]
    ami = _original_create_image(self, instance_id, name, description, others)
    for tag in snapshot_tags:
        ami.ebs_snapshot.add_tag(tag["Key"], tag["Value"])
    return ami


AmiBackend.create_image = _create_image_with_snapshot_tags


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

_serialize_integer = ResponseSerializer._serialize_type_integer


def _serialize_integer_or_leave_out(self, serialized, value, shape, key):
    if isinstance(value, (dict, list)):
        print(f"moto-launcher: left out {key}, an integer member holding {value!r}", file=sys.stderr)
        return
    _serialize_integer(self, serialized, value, shape, key)


ResponseSerializer._serialize_type_integer = _serialize_integer_or_leave_out
ResponseSerializer._serialize_type_long = _serialize_integer_or_leave_out


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


def _with_interpreter_port_route(app):
    def routed(environ, start_response):
        if environ["PATH_INFO"] != "/emulator/interpreter-port" or environ["REQUEST_METHOD"] != "POST":
            return app(environ, start_response)
        port = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)).decode().strip()
        if not port.isdigit():
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [f"the interpreter port must be a number, got: {port!r}".encode()]
        # moto's interpreter reads MOTO_PORT for every client it makes.
        os.environ["MOTO_PORT"] = port
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [port.encode()]
    return routed


def main():
    app = _with_interpreter_port_route(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=_exit_when_parent_goes_away, daemon=True).start()
    # One write with its newline: the harness stops reading at the newline, so a later write to
    # this pipe would fail.
    sys.stdout.write(f"MOTO_LISTENING {server.server_port}\n")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    threading.Thread(target=_import_interpreter, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
