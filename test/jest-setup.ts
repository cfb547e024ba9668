/*
 * aws-cdk-lib (2.26x) validates every synthesized template against its default CloudFormation rules,
 * in a WebAssembly engine that each test file starts again: about 80% of a unit test's synth time.
 * The tests' templates are checked by cfn-lint and cdk-nag instead, and the example app's synth
 * (`npx projen example`) runs those default rules with findings as errors.
 */
process.env.CDK_VALIDATION = 'false';
