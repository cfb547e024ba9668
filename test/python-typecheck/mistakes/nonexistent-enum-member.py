# An enum member that does not exist (SlackOutcome.FAILED does).
from cdk_pipeline_stages import SlackChannel, SlackOutcome, SlackWebhook

channel = SlackChannel(name="alerts", webhook=SlackWebhook.from_secure_string_parameter_name("/slack/alerts"),
                       outcomes=[SlackOutcome.FAIL])  # expect: reportAttributeAccessIssue
