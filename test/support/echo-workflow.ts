// A workflow whose input, activity call and result carry the caller's text: what the payload codec must hide.
import { proxyActivities } from '@temporalio/workflow';

export interface EchoActivities {
  echo(text: string): Promise<string>;
}

const { echo } = proxyActivities<EchoActivities>({ startToCloseTimeout: '1 minute' });

export async function echoWorkflow(text: string): Promise<string> {
  return `echoed ${await echo(text)}`;
}
