# A factory that returns a construct that is not a stage of this library.
import jsii
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from cdk_pipeline_stages import IPipelineStageFactory, PipelineStageStep


@jsii.implements(IPipelineStageFactory)
class Queues:
    def create_stage(self, scope: Construct, id: str) -> sqs.Queue:
        return sqs.Queue(scope, id)


step = PipelineStageStep.from_factory("Queues", Queues())  # expect: reportArgumentType
