# A factory whose create_stage does not take the id: it does not implement IPipelineStageFactory.
import jsii
from constructs import Construct
from cdk_pipeline_stages import IPipelineStageFactory, PipelineStage, PipelineStageStep, VmCommand, VmCommandStage, VmTargets


@jsii.implements(IPipelineStageFactory)
class SmokeTests:
    def create_stage(self, scope: Construct) -> PipelineStage:
        return VmCommandStage(scope, "SmokeTests", targets=VmTargets.tags({"Role": ["web"]}),
                              command=VmCommand.shell(["/opt/shop/smoke-test.sh"]))


step = PipelineStageStep.from_factory("SmokeTests", SmokeTests())  # expect: reportArgumentType
