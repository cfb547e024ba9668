# A method that does not exist (add_to_pipeline does).
from cdk_pipeline_stages import SlackChannel, SlackNotifyStage, SlackWebhook

slack = SlackNotifyStage(self, "Slack",
    channels=[SlackChannel(name="ci", webhook=SlackWebhook.from_secure_string_parameter_name("/slack/ci"))])
slack.add_to_pipline(pipeline, stage_name="Announce")  # expect: reportAttributeAccessIssue
