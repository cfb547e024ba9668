"""An example consumer app in Python, the twin of ../app.ts: one CodePipeline pipeline that composes
the library's stages, and a CDK Pipelines pipeline that runs stages as steps, one of them created by
a factory when the pipeline is built.

In a project that installed cdk-pipeline-stages (`pip install -r requirements.txt`), synthesize it
with `npx cdk synth` (cdk.json runs `python3 app.py`). In this repository CI type-checks it with
pyright against the generated bindings (.ci/python-typecheck); it is not synthesized here, since the
jsii runtime cannot be installed on CI's machine. The TypeScript twin is synthesized and also runs
cdk-nag's AwsSolutions checks.
"""
import jsii
from aws_cdk import App, Duration, Stack, Stage, pipelines
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_pipeline_stages import (
    AmiRefreshStage,
    AnsibleDeployStage,
    AnsibleInventory,
    AnsibleTransport,
    BranchBuildFanout,
    FanoutTarget,
    FileParameterType,
    ImageCapture,
    ImagePruning,
    InstanceRefreshOptions,
    IPipelineStageFactory,
    KnownHosts,
    PipelineEvent,
    PipelineStage,
    PipelineStageStep,
    SlackChannel,
    SlackNotifyStage,
    SlackOutcome,
    SlackWebhook,
    SshPrivateKey,
    VmCommand,
    VmCommandStage,
    VmTargets,
)


class ExamplePipelineStack(Stack):
    """A codepipeline.Pipeline: source, regression tests on VMs, Ansible, approval, Slack (as in app.ts)."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        repository = codecommit.Repository.from_repository_name(self, "Repo", "legacy-app")
        access_logs = s3.Bucket(self, "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        )
        artifact_bucket = s3.Bucket(self, "Artifacts",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            server_access_logs_bucket=access_logs,
        )

        source = codepipeline.Artifact("Source")
        pipeline = codepipeline.Pipeline(self, "Pipeline",
            pipeline_type=codepipeline.PipelineType.V2,
            artifact_bucket=artifact_bucket,
            stages=[codepipeline.StageProps(
                stage_name="Source",
                actions=[actions.CodeCommitSourceAction(action_name="Source", repository=repository, branch="main",
                                                        output=source, variables_namespace="Source")],
            )],
        )
        # Regression tests on the simulation hosts (EC2 or on-premises, tagged Role=simulation); the
        # repository's ci/simulation.json may pick the suite.
        VmCommandStage(self, "SimulationTests",
            targets=VmTargets.tags({"Role": ["simulation"]}),
            command=VmCommand.shell(["cd /opt/suite", './run-regression.sh "$SUITE"']),
            execution_timeout=Duration.hours(2),
            variable_parameters={"COMMIT_ID": "#{Source.CommitId}"},
            parameters_file="ci/simulation.json",
            file_parameters={"SUITE": FileParameterType.STRING},
        ).add_to_pipeline(pipeline, input=source, variables_namespace="SimulationTests")

        # Configure the web hosts (EC2, tagged Role=web) with the repository's Ansible playbook over SSH:
        # a check, an approval that shows what would change, then the run on the hosts the check saw.
        ansible_key = secretsmanager.Secret(self, "AnsibleDeployKey",
                                            description="SSH private key of the example pipeline's ansible user")
        AnsibleDeployStage(self, "ConfigureWeb",
            playbook="ansible/site.yml",
            inventory=AnsibleInventory.ec2_tags(tag_filters={"Role": ["web"]}, groups_by_tag=["Role"]),
            transport=AnsibleTransport.ssh(
                private_key=SshPrivateKey.from_secret(ansible_key, "privateKey"),
                known_hosts=KnownHosts.from_ssm_parameter("/example/ansible/known_hosts"),
                user="ec2-user",
            ),
            variable_extra_vars={"commit_id": "#{Source.CommitId}"},
            parameters_file="ansible/run.json",
            file_parameters={"release": FileParameterType.STRING},
            preview=True,
        ).add_to_pipeline(pipeline, input=source, variables_namespace="ConfigureWeb")

        pipeline.add_stage(stage_name="Release", actions=[actions.ManualApprovalAction(action_name="Approve")])

        # The web tier: each release is deployed onto the group's instances in place, then an AMI of
        # an updated instance becomes the launch template's next version and an instance refresh
        # rolls the fleet onto it, so that instances launched later boot the release too.
        vpc = ec2.Vpc(self, "WebVpc", max_azs=2, nat_gateways=0,
                      subnet_configuration=[ec2.SubnetConfiguration(name="web", subnet_type=ec2.SubnetType.PUBLIC)])
        vpc.add_flow_log("FlowLog")
        web_role = iam.Role(self, "WebInstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore")],
        )
        web_template = ec2.LaunchTemplate(self, "WebTemplate",
            machine_image=ec2.MachineImage.latest_amazon_linux2023(),
            instance_type=ec2.InstanceType("t3.small"),
            role=web_role,
            require_imdsv2=True,
            block_devices=[ec2.BlockDevice(device_name="/dev/xvda", volume=ec2.BlockDeviceVolume.ebs(20, encrypted=True))],
        )
        web_group = autoscaling.AutoScalingGroup(self, "WebGroup",
            vpc=vpc, launch_template=web_template, min_capacity=2, max_capacity=6)
        VmCommandStage(self, "DeployWeb",
            targets=VmTargets.tags({"aws:autoscaling:groupName": [web_group.auto_scaling_group_name]}),
            command=VmCommand.shell(['/opt/web/deploy.sh "$COMMIT_ID"']),
            variable_parameters={"COMMIT_ID": "#{Source.CommitId}"},
        ).add_to_pipeline(pipeline, stage_name="DeployWeb")
        AmiRefreshStage(self, "WebImage",
            auto_scaling_group=web_group,
            instance_role=web_role,
            image_capture=ImageCapture.standby(),
            commit_id="#{Source.CommitId}",
            instance_refresh=InstanceRefreshOptions(min_healthy_percentage=50, instance_warmup=Duration.minutes(2),
                                                    auto_rollback=True),
            pruning=ImagePruning.keep_newest(5),
        ).add_to_pipeline(pipeline, stage_name="WebImage", variables_namespace="WebImage")

        # Slack: failures anywhere in the pipeline and approvals waiting go to #alerts (EventBridge
        # events); the Announce stage at the end posts each release to #releases. After deploying, put
        # the webhooks in the secret: {"alerts": "https://hooks.slack.com/services/...", "releases": "..."}
        slack_webhooks = secretsmanager.Secret(self, "SlackWebhooks",
                                               description="Slack incoming webhooks of the example pipeline")
        slack = SlackNotifyStage(self, "Slack",
            channels=[
                SlackChannel(name="alerts", webhook=SlackWebhook.from_secret(slack_webhooks, "alerts"),
                             outcomes=[SlackOutcome.FAILED, SlackOutcome.CANCELLED, SlackOutcome.APPROVAL]),
                SlackChannel(name="releases", webhook=SlackWebhook.from_secret(slack_webhooks, "releases"),
                             outcomes=[SlackOutcome.SUCCEEDED]),
            ],
            pipeline=pipeline,
            events=[PipelineEvent.EXECUTION_FAILED, PipelineEvent.EXECUTION_STOPPED,
                    PipelineEvent.EXECUTION_SUPERSEDED, PipelineEvent.APPROVAL_WAITING],
            action_text="Released #{Source.CommitId}: #{Source.CommitMessage}",
        )
        slack.add_to_pipeline(pipeline, stage_name="Announce")

        # Every feature and bugfix branch is built on push, at exactly the pushed commit, in order per
        # branch; a newer push stops the branch's outdated build; a sweep catches lost events hourly.
        branch_builds = codebuild.Project(self, "BranchBuilds",
            description="Builds and tests feature and bugfix branches (buildspec.yml of the commit)",
            source=codebuild.Source.code_commit(repository=repository),
            environment=codebuild.BuildEnvironment(build_image=codebuild.LinuxBuildImage.STANDARD_7_0),
        )
        BranchBuildFanout(self, "Branches",
            repository=repository,
            target=FanoutTarget.code_build(branch_builds),
            branches=["feature/*", "bugfix/*"],
            supersede=True,
            sweep_interval=Duration.hours(1),
        )


class ShopStage(Stage):
    """The application that the CDK Pipelines pipeline deploys."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        service = Stack(self, "Service")
        sqs.Queue(service, "Orders", enforce_ssl=True)


@jsii.implements(IPipelineStageFactory)
class SmokeTests:
    """Creates the smoke-test stage when CDK Pipelines builds the pipeline, in the pipeline's scope."""

    def __init__(self, environment: str) -> None:
        self.environment = environment

    def create_stage(self, scope: Construct, id: str) -> PipelineStage:
        return VmCommandStage(scope, id,
            targets=VmTargets.tags({"Role": ["web"], "Env": [self.environment]}),
            command=VmCommand.shell(["/opt/shop/smoke-test.sh"]),
            execution_timeout=Duration.minutes(10),
        )


class ExampleCdkPipelineStack(Stack):
    """A CDK Pipelines pipeline: the library's stages as steps before and after a deployment."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        repository = codecommit.Repository.from_repository_name(self, "Repo", "shop")
        source = pipelines.CodePipelineSource.code_commit(repository, "main")
        pipeline = pipelines.CodePipeline(self, "Pipeline",
            synth=pipelines.ShellStep("Synth", input=source,
                                      commands=["pip install -r requirements.txt", "npx cdk synth"]),
        )

        webhooks = secretsmanager.Secret.from_secret_name_v2(self, "SlackWebhooks", "slack/shop-webhooks")
        releases = [SlackChannel(name="releases", webhook=SlackWebhook.from_secret(webhooks, "releases"))]
        regression = VmCommandStage(self, "Regression",
            targets=VmTargets.tags({"Role": ["simulation"]}),
            command=VmCommand.shell(["cd /opt/suite", "./run-regression.sh"]),
            execution_timeout=Duration.hours(1),
        )
        announce = SlackNotifyStage(self, "Announce", channels=releases, action_text="Staging is updated.")
        pipeline.add_stage(ShopStage(self, "Staging"),
            # A stage created here, before the deployment; it reads the source.
            pre=[PipelineStageStep.from_stage(regression, input=source)],
            # A stage the factory creates when the pipeline is built, then a post to Slack.
            post=[PipelineStageStep.from_factory("SmokeTests", SmokeTests("staging")),
                  PipelineStageStep.from_stage(announce)],
        )

        # Event notifications need the underlying pipeline, which exists once the pipeline is built.
        pipeline.build_pipeline()
        SlackNotifyStage(self, "PipelineEvents", channels=releases, pipeline=pipeline.pipeline)


app = App()
ExamplePipelineStack(app, "ExamplePipelineStack")
ExampleCdkPipelineStack(app, "ExampleCdkPipelineStack")
app.synth()
