# A stage without its required `command`.
from cdk_pipeline_stages import VmCommandStage, VmTargets

VmCommandStage(self, "Tests",  # expect: reportCallIssue
    targets=VmTargets.tags({"Role": ["simulation"]}),
)
