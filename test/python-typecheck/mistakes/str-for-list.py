# A str where a list of str is expected.
from cdk_pipeline_stages import VmTargets

targets = VmTargets.instance_ids("i-0123456789abcdef0")  # expect: reportArgumentType
