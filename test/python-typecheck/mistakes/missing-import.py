# A name used without importing it (Duration, from aws_cdk).
from cdk_pipeline_stages import VmCommand, VmCommandStage, VmTargets

VmCommandStage(self, "Tests",
    targets=VmTargets.tags({"Role": ["simulation"]}),
    command=VmCommand.shell(["./run-regression.sh"]),
    execution_timeout=Duration.hours(2),  # expect: reportUndefinedVariable
)
