# A CDK Pipelines pipeline where add_to_pipeline takes a codepipeline.Pipeline (use PipelineStageStep).
from aws_cdk import pipelines
from cdk_pipeline_stages import VmCommand, VmCommandStage, VmTargets

cdk_pipeline = pipelines.CodePipeline(self, "Pipeline",
    synth=pipelines.ShellStep("Synth", input=pipelines.CodePipelineSource.code_commit(repository, "main"),
                              commands=["npx cdk synth"]))
tests = VmCommandStage(self, "Tests", targets=VmTargets.tags({"Role": ["simulation"]}),
                       command=VmCommand.shell(["./run-regression.sh"]))
tests.add_to_pipeline(cdk_pipeline)  # expect: reportArgumentType
