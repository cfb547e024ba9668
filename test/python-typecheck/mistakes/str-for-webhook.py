# The webhook URL itself where a SlackWebhook (a secret or a SecureString parameter) is expected.
from cdk_pipeline_stages import SlackChannel

channel = SlackChannel(name="ci", webhook="https://hooks.slack.com/services/T0/B0/XXXX")  # expect: reportArgumentType
