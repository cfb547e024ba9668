# A str where a list of str is expected, as a value of a mapping (tag values).
from cdk_pipeline_stages import VmTargets

targets = VmTargets.tags({"Role": "simulation"})  # expect: reportArgumentType
