# The enum member's name as a str instead of the member.
from cdk_pipeline_stages import FileParameterType, VmCommand, VmCommandStage, VmTargets

VmCommandStage(self, "Tests",
    targets=VmTargets.tags({"Role": ["simulation"]}),
    command=VmCommand.shell(['./run-regression.sh "$SUITE"']),
    parameters_file="ci/simulation.json",
    file_parameters={"SUITE": FileParameterType.STRING, "SEED": "INTEGER"},  # expect: reportArgumentType
)
