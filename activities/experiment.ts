// The experiment workflow's activity: the result of a child campaign that completed in an earlier run of the
// experiment (workflow code cannot read another workflow's result).
import { Context } from '@temporalio/activity';

export interface CompletedResultInput {
  workflowId: string;
}

export async function completedResult(input: CompletedResultInput): Promise<unknown> {
  return Context.current().client.workflow.getHandle(input.workflowId).result();
}
