# A misspelled keyword argument (execution_timout).
from aws_cdk import Duration
from cdk_pipeline_stages import VmCommand, VmCommandStage, VmTargets

VmCommandStage(self, "Tests",
    targets=VmTargets.tags({"Role": ["simulation"]}),
    command=VmCommand.shell(["./run-regression.sh"]),
    execution_timout=Duration.hours(2),  # expect: reportCallIssue
)
