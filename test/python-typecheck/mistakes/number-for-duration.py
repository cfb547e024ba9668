# Seconds where a Duration is expected.
from cdk_pipeline_stages import VmCommand, VmCommandStage, VmTargets

VmCommandStage(self, "Tests",
    targets=VmTargets.tags({"Role": ["simulation"]}),
    command=VmCommand.shell(["./run-regression.sh"]),
    execution_timeout=7200,  # expect: reportArgumentType
)
