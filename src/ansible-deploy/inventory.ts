import { Token } from 'aws-cdk-lib';
import { InventoryConfig } from './private/config';
import { invalid, requireMatch, requireNonEmptyArray, requireNonEmptyString } from '../core/private/validation';

/** Which address of an EC2 instance ansible connects to. */
export class AnsibleHostAddress {
  /** The primary private IPv4 address (for a build in the hosts' VPC). */
  public static privateIp(): AnsibleHostAddress {
    return new AnsibleHostAddress('private-ip-address');
  }

  /** The public IPv4 address. */
  public static publicIp(): AnsibleHostAddress {
    return new AnsibleHostAddress('ip-address');
  }

  /** The private DNS name. */
  public static privateDnsName(): AnsibleHostAddress {
    return new AnsibleHostAddress('private-dns-name');
  }

  /** The value of an instance tag (e.g. a DNS name the fleet registers). */
  public static tag(key: string): AnsibleHostAddress {
    requireMatch('tag key', key, /^[^,=\s]{1,128}$/, 'be 1 to 128 characters without spaces, commas or =');
    return new AnsibleHostAddress(`tag:${key}`);
  }

  /** The instance id: the address the SSM transport needs. */
  public static instanceId(): AnsibleHostAddress {
    return new AnsibleHostAddress('instance-id');
  }

  private constructor(/** The aws_ec2 plugin's `hostnames` entry. */ public readonly hostname: string) {}
}

/** Options of a dynamic inventory by EC2 tags. */
export interface Ec2TagsInventoryOptions {
  /**
   * The regions to look for instances in.
   * @default - the stack's region
   */
  readonly regions?: string[];
  /**
   * The tags an instance must have: for each key, one of the values (e.g. `{ Role: ['web'] }`).
   * Only running instances are included.
   */
  readonly tagFilters: { [key: string]: string[] };
  /**
   * Tag keys that become groups (`<key>_<value>`, every character but a letter, digit or `_` made
   * `_`), for plays that target e.g. `Role_web`.
   * @default - no tag groups (every host is in `all` and `aws_ec2`)
   */
  readonly groupsByTag?: string[];
  /**
   * The address ansible connects to; it also names the host in the recap and the report.
   * @default AnsibleHostAddress.privateIp() (AnsibleHostAddress.instanceId() with the SSM transport)
   */
  readonly hostAddress?: AnsibleHostAddress;
}

/** The hosts ansible-playbook configures. */
export class AnsibleInventory {
  /** An inventory file (or directory) in the input artifact, relative to its root. */
  public static fromFile(path: string): AnsibleInventory {
    requireNonEmptyString('inventory path', path);
    return new AnsibleInventory({ file: path });
  }

  /**
   * Instances found by their tags through the `amazon.aws.aws_ec2` inventory plugin, whose
   * configuration the stage generates. A run that finds no instance fails. Every value the plugin
   * reads (tag values too) reaches the playbook marked `!unsafe`: never templated.
   */
  public static ec2Tags(options: Ec2TagsInventoryOptions): AnsibleInventory {
    if (!Token.isUnresolved(options.tagFilters)) {
      if (Object.keys(options.tagFilters).length === 0) invalid('tagFilters', 'name at least one tag', options.tagFilters);
      for (const [key, values] of Object.entries(options.tagFilters)) {
        requireMatch('tagFilters key', key, /^[^\s]{1,128}$/, 'be 1 to 128 characters without spaces');
        requireNonEmptyArray(`tagFilters.${key}`, values);
      }
    }
    if (options.regions !== undefined) {
      requireNonEmptyArray('regions', options.regions);
      if (!Token.isUnresolved(options.regions)) options.regions.forEach(r => requireMatch('region', r, /^[a-z]{2}(-[a-z]+)+-\d$/, 'be a region name such as eu-west-1'));
    }
    for (const key of options.groupsByTag ?? []) requireMatch('groupsByTag', key, /^[A-Za-z0-9_.:/+=@-]{1,128}$/, 'be tag keys');
    return new AnsibleInventory({
      ec2: { regions: options.regions, tagFilters: options.tagFilters, groupsByTag: options.groupsByTag ?? [], hostAddress: options.hostAddress },
    });
  }

  private constructor(/** @internal */ public readonly _config: InventoryConfig) {}
}
