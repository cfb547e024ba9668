# A name the library does not export (VmCommandStage).
from cdk_pipeline_stages import VmCommandStep  # expect: reportAttributeAccessIssue
