# A step's input given as a dict instead of the input keyword (the TypeScript options object).
from cdk_pipeline_stages import PipelineStageStep, VmCommand, VmCommandStage, VmTargets

tests = VmCommandStage(self, "Tests", targets=VmTargets.tags({"Role": ["simulation"]}),
                       command=VmCommand.shell(["./run-regression.sh"]))
step = PipelineStageStep.from_stage(tests, {"input": source_output})  # expect: reportCallIssue
