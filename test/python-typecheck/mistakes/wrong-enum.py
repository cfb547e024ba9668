# A member of another enum: SlackOutcome where a PipelineEvent is expected.
from cdk_pipeline_stages import SlackChannel, SlackNotifyStage, SlackOutcome, SlackWebhook

SlackNotifyStage(self, "Slack",
    channels=[SlackChannel(name="ci", webhook=SlackWebhook.from_secure_string_parameter_name("/slack/ci"))],
    pipeline=pipeline,
    events=[SlackOutcome.FAILED],  # expect: reportArgumentType
)
