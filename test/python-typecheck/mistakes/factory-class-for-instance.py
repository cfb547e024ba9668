# The factory class where an instance of it is expected.
import jsii
from constructs import Construct
from cdk_pipeline_stages import IPipelineStageFactory, PipelineStage, PipelineStageStep, VmCommand, VmCommandStage, VmTargets


@jsii.implements(IPipelineStageFactory)
class SmokeTests:
    def create_stage(self, scope: Construct, id: str) -> PipelineStage:
        return VmCommandStage(scope, id, targets=VmTargets.tags({"Role": ["web"]}),
                              command=VmCommand.shell(["/opt/shop/smoke-test.sh"]))


step = PipelineStageStep.from_factory("SmokeTests", SmokeTests)  # expect: reportArgumentType
