# The TypeScript property name instead of the Python keyword (variableParameters).
from cdk_pipeline_stages import VmCommand, VmCommandStage, VmTargets

VmCommandStage(self, "Tests",
    targets=VmTargets.tags({"Role": ["simulation"]}),
    command=VmCommand.shell(["./run-regression.sh"]),
    variableParameters={"COMMIT_ID": "#{Source.CommitId}"},  # expect: reportCallIssue
)
