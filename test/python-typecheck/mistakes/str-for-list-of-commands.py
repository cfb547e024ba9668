# One command line as a str where the list of command lines is expected.
from cdk_pipeline_stages import VmCommand

command = VmCommand.shell("cd /opt/suite && ./run-regression.sh")  # expect: reportArgumentType
