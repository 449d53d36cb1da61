/**
 * Set by `drover dev` on the processes it starts (with an IPC channel): they stop when the
 * channel closes.
 */
export const SUPERVISED_ENV = 'DROVER_SUPERVISED';

/**
 * The process's root cancellation: aborted by the first SIGINT, SIGTERM or SIGHUP (a
 * closed terminal), so the running leader or worker shuts down cleanly; a second signal
 * exits at once. A process started by `drover dev` (with an IPC channel) also stops when
 * that channel closes: its parent is gone, even if it died by SIGKILL, and nobody else
 * would stop it.
 */
export function stopSignal(): AbortSignal {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      process.stderr.write(`drover: second ${name}, exiting now\n`);
      process.exit(130);
    }
    controller.abort(new Error(`received ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  if (process.env[SUPERVISED_ENV] === '1') {
    const parentGone = (): void => {
      if (!controller.signal.aborted) controller.abort(new Error('drover dev went away'));
    };
    if (!process.connected) {
      parentGone(); // it died before this process got here
    } else {
      // The channel must not keep this process alive once its work is done.
      process.channel?.unref();
      process.once('disconnect', parentGone);
    }
  }
  return controller.signal;
}

/**
 * How long a stopped leader or worker waits for the event loop to empty before it ends
 * anyway. A peer frozen mid-stream (SIGSTOP, a host gone) keeps its socket open past
 * grpc-js's shutdown, and with it this process, for as long as the peer stays frozen: an
 * old leader would hold its port and data directory with nothing left to do, and a worker
 * stopped while its leader was frozen lingered 1.5 s after "worker stopped".
 */
const EXIT_AFTER_STOP_MS = 500;

/** Ends the process soon after a clean stop, unless it ends by itself first. */
export function exitSoonAfterStop(): void {
  setTimeout(() => process.exit(process.exitCode ?? 0), EXIT_AFTER_STOP_MS).unref();
}
