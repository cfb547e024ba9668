import { Token } from 'aws-cdk-lib';
import { invalid, requireNonEmptyArray, requireNonEmptyString } from '../core/private/validation';

/** EC2 (`i-` and 8 or 17 hex digits) and hybrid managed (`mi-` and 17 hex digits) instance ids. */
const INSTANCE_ID = /^(i-([0-9a-f]{8}|[0-9a-f]{17})|mi-[0-9a-f]{17})$/;

/** SendCommand takes at most this many instance ids. */
const MAX_INSTANCE_IDS = 50;

/** The instances a `VmCommandStage` runs its command on. */
export class VmTargets {
  /**
   * EC2 instances (`i-...`) or hybrid managed instances (`mi-...`), at most 50.
   * Ids that are not tokens are checked at synth; each id may be a token (e.g. `instance.instanceId`),
   * but not the whole list, since `ssm:SendCommand` is granted on each instance's ARN.
   */
  public static instanceIds(instanceIds: string[]): VmTargets {
    if (Token.isUnresolved(instanceIds)) {
      invalid('instanceIds', 'be a list of ids, each of which may be a token, not a list token (ssm:SendCommand is granted per instance; '
        + 'use `VmTargets.tags` or `VmTargets.resourceGroup` for a list known only at deploy time)', instanceIds);
    }
    requireNonEmptyArray('instanceIds', instanceIds);
    if (instanceIds.length > MAX_INSTANCE_IDS) invalid('instanceIds', `have at most ${MAX_INSTANCE_IDS} ids (use tags or a resource group for larger fleets)`, instanceIds.length);
    instanceIds.forEach((id, i) => {
      if (!Token.isUnresolved(id) && !INSTANCE_ID.test(id)) {
        invalid(`instanceIds[${i}]`, 'be an EC2 instance id (i- and 8 or 17 hex digits) or a managed instance id (mi- and 17 hex digits)', id);
      }
    });
    return new VmTargets([...instanceIds], undefined, undefined);
  }

  /**
   * Every SSM-managed instance that carries all these tags (each with one of the listed values).
   * The instances are resolved when the stage runs; none matching fails the stage, and so does a
   * running EC2 instance carrying the tags that SSM does not manage or that is offline.
   */
  public static tags(tags: { [key: string]: string[] }): VmTargets {
    if (Object.keys(tags).length === 0) throw new Error('`tags` must not be empty');
    for (const [key, values] of Object.entries(tags)) {
      requireNonEmptyString('tags key', key);
      requireNonEmptyArray(`tags.${key}`, values);
    }
    return new VmTargets(undefined, { ...tags }, undefined);
  }

  /** The EC2 and managed instances of an AWS Resource Groups group, resolved when the stage runs. */
  public static resourceGroup(name: string): VmTargets {
    requireNonEmptyString('resourceGroup', name);
    return new VmTargets(undefined, undefined, name);
  }

  private constructor(
    /** The instance ids, for `instanceIds` targets. */
    public readonly targetInstanceIds: string[] | undefined,
    /** The tags, for `tags` targets. */
    public readonly targetTags: { [key: string]: string[] } | undefined,
    /** The group name, for `resourceGroup` targets. */
    public readonly resourceGroupName: string | undefined,
  ) {}

  /** The targets as the stage's handlers read them. @internal */
  public _toJson(): { [key: string]: unknown } {
    if (this.targetInstanceIds) return { instanceIds: this.targetInstanceIds };
    if (this.targetTags) return { tags: this.targetTags };
    return { resourceGroup: this.resourceGroupName };
  }
}
