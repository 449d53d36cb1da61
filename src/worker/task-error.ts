/**
 * Thrown by a handler to fail its task with output kept (a command's stdout and stderr,
 * say). Anything else a handler throws fails the task with just its message.
 */
export class TaskError extends Error {
  constructor(
    message: string,
    /** Kept as the task's result beside the error. */
    readonly output?: string,
  ) {
    super(message);
    this.name = 'TaskError';
  }
}

/**
 * Thrown by a handler when another attempt cannot help (bad input, a refused command):
 * the task fails at once, whatever attempts it has left.
 */
export class PermanentTaskError extends TaskError {
  constructor(message: string, output?: string) {
    super(message, output);
    this.name = 'PermanentTaskError';
  }
}

/** The reason given to a task's AbortSignal when the leader or the worker stops it. */
export class TaskStoppedError extends Error {
  constructor(reason: string) {
    super(`stopped: ${reason}`);
    this.name = 'AbortError';
  }
}
