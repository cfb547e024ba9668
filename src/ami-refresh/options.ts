import { Duration } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';

/** How the stage takes the image of an instance of the group. */
export class ImageCapture {
  /**
   * Moves the instance to Standby first (it leaves the load balancers, and the group keeps its
   * capacity by launching a replacement when it cannot lower its desired capacity; that capacity
   * is set back after the instance returns), then images it with a reboot, then returns it to
   * service once the image is available, or failed, or the run stopped. File systems are
   * consistent and no request reaches a rebooting instance.
   */
  public static standby(): ImageCapture {
    return new ImageCapture('standby');
  }

  /**
   * Images the instance with a reboot while it stays in service: it drops its connections and
   * fails its health checks while it reboots. File systems are consistent.
   */
  public static rebootInPlace(): ImageCapture {
    return new ImageCapture('reboot');
  }

  /**
   * Images the running instance without a reboot. Its file systems are only crash-consistent:
   * writes still in memory are lost, as after a power cut, and an application must recover from
   * that when an instance boots from the image.
   */
  public static noReboot(): ImageCapture {
    return new ImageCapture('noReboot');
  }

  private constructor(
    /** `standby`, `reboot` or `noReboot`. */
    public readonly mode: string,
  ) {}
}

/** Options of `ImagePruning`. */
export interface ImagePruningOptions {
  /**
   * Whether images shared with other accounts may be deregistered too.
   * @default false
   */
  readonly includeShared?: boolean;
}

/**
 * Which of the images this stage made for its group are deregistered (with their snapshots) after
 * a successful release. Images still in use are always kept: referenced by the default or latest
 * version of a launch template, by the version a group or an override uses, or by a running
 * instance; and, unless `includeShared`, images shared with other accounts.
 */
export class ImagePruning {
  /** Keeps the `count` newest images and deregisters older ones. */
  public static keepNewest(count: number, options: ImagePruningOptions = {}): ImagePruning {
    return new ImagePruning(count, undefined, options.includeShared ?? false);
  }

  /** Deregisters the images older than `maxAge`; the newest image (the release's) is always kept. */
  public static olderThan(maxAge: Duration, options: ImagePruningOptions = {}): ImagePruning {
    return new ImagePruning(undefined, maxAge, options.includeShared ?? false);
  }

  private constructor(
    /** How many images to keep. */
    public readonly keep: number | undefined,
    /** The age above which images are deregistered. */
    public readonly maxAge: Duration | undefined,
    public readonly includeShared: boolean,
  ) {}
}

/** What an instance refresh does with instances protected from scale-in. */
export enum ScaleInProtectedInstances {
  /** Replace them. */
  REFRESH = 'Refresh',
  /** Leave them and refresh the others. */
  IGNORE = 'Ignore',
  /** Wait up to an hour for them to lose their protection, then fail. */
  WAIT = 'Wait',
}

/** What an instance refresh does with instances in Standby. */
export enum StandbyInstances {
  /** Terminate and replace them. */
  TERMINATE = 'Terminate',
  /** Leave them and refresh the others. */
  IGNORE = 'Ignore',
  /** Wait up to an hour for them to return to service, then fail. */
  WAIT = 'Wait',
}

/** An instance refresh to the new launch template version, waited on to its end. */
export interface InstanceRefreshOptions {
  /**
   * Percentage of the group's desired capacity that stays in service and healthy.
   * @default 90
   */
  readonly minHealthyPercentage?: number;
  /**
   * Percentage of desired capacity the group may grow to while it replaces instances (100 to 200).
   * Needs `minHealthyPercentage`, and may exceed it by at most 100.
   * @default - Auto Scaling's default: terminate before launching
   */
  readonly maxHealthyPercentage?: number;
  /**
   * How long a new instance warms up before it counts as healthy.
   * @default - the group's health check grace period
   */
  readonly instanceWarmup?: Duration;
  /**
   * Skips instances that already run the new version.
   * @default true
   */
  readonly skipMatching?: boolean;
  /**
   * Percentages of replaced instances at which the refresh pauses for `checkpointDelay`; the
   * last must be 100.
   * @default - no checkpoints
   */
  readonly checkpointPercentages?: number[];
  /**
   * How long the refresh pauses at each checkpoint.
   * @default - one hour when checkpoints are set
   */
  readonly checkpointDelay?: Duration;
  /**
   * Rolls the group back to its previous configuration when the refresh fails, and when the
   * pipeline is stopped during the refresh (instead of cancelling it). Needs `pinVersion`.
   * @default false
   */
  readonly autoRollback?: boolean;
  /**
   * Refreshes to a desired configuration pinned to the new version number: the group points at it
   * when the refresh succeeds, and keeps its configuration when it fails or rolls back. Without
   * it the refresh replaces instances with what the group uses already (the group must then use
   * `$Latest` or `$Default`, or `updateGroup` must be on).
   * @default true
   */
  readonly pinVersion?: boolean;
  /** @default ScaleInProtectedInstances.WAIT */
  readonly scaleInProtectedInstances?: ScaleInProtectedInstances;
  /** @default StandbyInstances.WAIT */
  readonly standbyInstances?: StandbyInstances;
  /**
   * How long the stage waits for the refresh to end before it cancels it (or rolls it back) and fails.
   * @default Duration.hours(2)
   */
  readonly timeout?: Duration;
}

/** A copy of the image (encrypted, or in other regions). */
export interface ImageCopyOptions {
  /**
   * Encrypts a copy of the image with this key; the copy is what the stage publishes. The key
   * policy must let the Auto Scaling service-linked role use it (see the README).
   * @default - the image keeps the encryption of the instance's volumes
   */
  readonly kmsKey?: kms.IKey;
  /**
   * Regions the published image is copied to (the copies keep its name and tags; they are started,
   * not waited on, and their ids are in the action's summary).
   * @default - none
   */
  readonly regions?: string[];
}
