/** The value of an unlabelled counter on a leader's /metrics page (`http`: its base URL). */
export async function counter(http: string, name: string): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`${name} is not on /metrics`);
  return Number(line.split(' ')[1]);
}
