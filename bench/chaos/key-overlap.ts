import type { LogLine } from '../../test/helpers/processes.js';

/** One worker process's life, as the key measure needs it. */
export interface ProcessLife {
  /** Who it was, for the witness list (member id and pid). */
  readonly name: string;
  readonly lines: readonly LogLine[];
  /** When it was killed (SIGKILL), if it was: its attempts end there. */
  readonly killedAtMs: number | undefined;
  /** When it was frozen (SIGSTOP to SIGCONT): it runs nothing then. */
  readonly frozen: readonly (readonly [number, number])[];
}

/**
 * The most attempts of each concurrency key that ever ran at the same instant on the
 * workers, from the workers' own logs: an attempt runs from its "task started" line to its
 * "task finished" / "task failed" line in the same process, or to the process's death if
 * it was killed first; a frozen process runs nothing while frozen. `keyOf` names each
 * task's key. An attempt whose process was frozen for longer than `fenceAfterMs` ends at
 * the freeze, and how long it went on after waking is returned apart: a paused process
 * cannot stop itself, which is why its report is fenced by the attempt number. Counted by the workers, not the leader: the physical figure, including
 * workers that were cut off and kept running.
 */
export function mostAtOnceByKey(
  lives: readonly ProcessLife[],
  keyOf: (taskId: string) => string | undefined,
  fenceAfterMs: number,
): { most: Record<string, number>; witness: string[]; wokePastFenceMs: number[] } {
  const wokePastFenceMs: number[] = [];
  const spans = new Map<string, { fromMs: number; toMs: number; what: string }[]>();
  const add = (key: string, fromMs: number, toMs: number, what: string): void => {
    if (toMs <= fromMs) return;
    let list = spans.get(key);
    if (list === undefined) spans.set(key, (list = []));
    list.push({ fromMs, toMs, what });
  };
  for (const life of lives) {
    const open = new Map<string, number>();
    const end = (taskId: string, startMs: number, endMs: number, attempt: string): void => {
      const key = keyOf(taskId);
      if (key === undefined) return;
      const what = `${taskId}#${attempt} on ${life.name}`;
      // Split around the freezes: what a frozen process holds does not run. A freeze longer
      // than the fence time outlived the attempt's place under its key: what it does on
      // waking, before its fence fires, is counted apart (see the report).
      let from = startMs;
      for (const [stopMs, contMs] of life.frozen) {
        if (contMs <= from || stopMs >= endMs) continue;
        add(key, from, stopMs, what);
        if (contMs - Math.max(stopMs, from) > fenceAfterMs) {
          wokePastFenceMs.push(Math.max(0, endMs - contMs));
          return;
        }
        from = Math.max(from, contMs);
      }
      add(key, from, endMs, what);
    };
    for (const line of life.lines) {
      const id = `${String(line['taskId'])}#${String(line['attempt'])}`;
      const atMs = Number(line['time']);
      if (line.msg === 'task started') open.set(id, atMs);
      else if (line.msg === 'task finished' || line.msg === 'task failed') {
        const startMs = open.get(id);
        if (startMs === undefined) continue;
        open.delete(id);
        end(String(line['taskId']), startMs, atMs, String(line['attempt']));
      }
    }
    // Killed with attempts running: they ran until the kill. (A process still alive at the
    // end with attempts open cannot happen after the run settles; count them to the end.)
    const lastMs = life.killedAtMs ?? Number(life.lines.at(-1)?.['time'] ?? 0);
    for (const [id, startMs] of open) {
      const cut = id.lastIndexOf('#');
      end(id.slice(0, cut), startMs, lastMs, id.slice(cut + 1));
    }
  }
  const most: Record<string, number> = {};
  let witness: string[] = [];
  let witnessTop = 0;
  for (const [key, list] of spans) {
    const edges = list.flatMap((s): [number, number][] => [
      [s.fromMs, 1],
      [s.toMs, -1],
    ]);
    // Ends before starts at the same ms: a slot freed and taken at once is not two.
    edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let now = 0;
    let top = 0;
    let topAtMs = 0;
    for (const [atMs, delta] of edges) {
      now += delta;
      if (now > top) [top, topAtMs] = [now, atMs];
    }
    most[key] = top;
    if (top > witnessTop) {
      // What ran at the busiest instant of the busiest key, for a person to check.
      witnessTop = top;
      witness = list
        .filter((s) => s.fromMs <= topAtMs && s.toMs > topAtMs)
        .map(
          (s) =>
            `${key}: ${s.what}, ${new Date(s.fromMs).toISOString()} to ${new Date(s.toMs).toISOString()}`,
        );
    }
  }
  return { most, witness, wokePastFenceMs };
}
