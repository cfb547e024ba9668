# A number where the API takes a str (max_concurrency also takes percentages, e.g. "10%").
from cdk_pipeline_stages import VmCommand, VmCommandStage, VmTargets

VmCommandStage(self, "Tests",
    targets=VmTargets.tags({"Role": ["simulation"]}),
    command=VmCommand.shell(["./run-regression.sh"]),
    max_concurrency=2,  # expect: reportArgumentType
)
