# Props passed positionally: after scope and id, a stage takes keyword arguments only.
from cdk_pipeline_stages import VmCommand, VmCommandStage, VmTargets

VmCommandStage(self, "Tests", VmTargets.tags({"Role": ["simulation"]}),  # expect: reportCallIssue
    command=VmCommand.shell(["./run-regression.sh"]),
)
