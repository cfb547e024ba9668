import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { awsClient } from '../core/aws-clients';

export const autoscaling = () => awsClient(AutoScalingClient);
export const ec2 = () => awsClient(EC2Client);
