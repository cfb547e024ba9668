import type { Emulator, ScriptedReply } from '../emulator/harness';

/** CodeBuild keeps an idempotency token this long. */
const IDEMPOTENCY_WINDOW_MS = 5 * 60_000;

export interface FakeBuild {
  readonly id: string;
  readonly projectName: string;
  readonly sourceVersion: string;
  readonly variables: Record<string, string>;
  readonly idempotencyToken?: string;
  /** When StartBuild created it (ms since epoch). */
  startedAt: number;
  status: 'IN_PROGRESS' | 'STOPPED' | 'SUCCEEDED';
}

/**
 * CodeBuild as the fanout uses it, scripted through the emulator's proxy. moto 5.2.1 keeps
 * StartBuild's sourceVersion, but answers its timestamps as ISO strings that the SDK v3 cannot
 * read ("Expected real number"), and says SUCCEEDED for every build. This fake answers StartBuild
 * (honouring idempotency tokens for 5 minutes, like CodeBuild), BatchGetBuilds (IN_PROGRESS until
 * stopped or finished), StopBuild and ListBuildsForProject. `refuse` decides per call whether
 * StartBuild fails instead (throttling, quotas, faults).
 */
export class FakeCodeBuild {
  public readonly builds: FakeBuild[] = [];
  /** Every StartBuild answered with a build (a new one, or one an idempotency token found). */
  public accepted = 0;
  /** Answers StartBuild instead of the fake when it returns a reply (throttling, quotas, faults). */
  public refuse: (input: any) => ScriptedReply | undefined;
  /** StartBuild calls still to be applied and then answered with a dropped connection. */
  public dropAfterStart = 0;
  private sequence = 0;

  constructor(emulator: Emulator) {
    this.refuse = () => undefined;
    emulator.script('codebuild', 'StartBuild', input => {
      const refused = this.refuse(input);
      if (refused) return refused;
      const body = { build: this.view(this.start(input)) };
      if (this.dropAfterStart <= 0) return { body };
      this.dropAfterStart--;
      return { fault: 'applied-then-drop', body };
    });
    emulator.script('codebuild', 'BatchGetBuilds', input => ({
      body: { builds: this.builds.filter(b => input.ids.includes(b.id)).map(b => this.view(b)), buildsNotFound: [] },
    }));
    emulator.script('codebuild', 'StopBuild', input => {
      const build = this.builds.find(b => b.id === input.id);
      if (!build) return { error: { code: 'ResourceNotFoundException', message: `Build ${input.id} not found` } };
      if (build.status === 'IN_PROGRESS') build.status = 'STOPPED';
      return { body: { build: this.view(build) } };
    });
    emulator.script('codebuild', 'ListBuildsForProject', input => ({
      body: { ids: this.builds.filter(b => b.projectName === input.projectName).map(b => b.id).reverse() },
    }));
  }

  /** The builds of a branch, oldest first. */
  public buildsOf(branch: string): FakeBuild[] {
    return this.builds.filter(b => b.variables.FANOUT_BRANCH === branch);
  }

  private start(input: any): FakeBuild {
    this.accepted++;
    const known = input.idempotencyToken
      && this.builds.find(b => b.idempotencyToken === input.idempotencyToken && Date.now() - b.startedAt < IDEMPOTENCY_WINDOW_MS);
    if (known) return known;
    const build: FakeBuild = {
      id: `${input.projectName}:${String(++this.sequence).padStart(8, '0')}`,
      projectName: input.projectName,
      sourceVersion: input.sourceVersion,
      variables: Object.fromEntries((input.environmentVariablesOverride ?? []).map((v: any) => [v.name, v.value])),
      idempotencyToken: input.idempotencyToken,
      startedAt: Date.now(),
      status: 'IN_PROGRESS',
    };
    this.builds.push(build);
    return build;
  }

  private view(build: FakeBuild) {
    return {
      id: build.id,
      projectName: build.projectName,
      sourceVersion: build.sourceVersion,
      buildStatus: build.status,
      startTime: build.startedAt / 1000,
      environment: { environmentVariables: Object.entries(build.variables).map(([name, value]) => ({ name, value, type: 'PLAINTEXT' })) },
    };
  }
}
