/**
 * The top frames of a V8 CPU profile (`node --cpu-prof`), by self time, and the self time per package:
 * `tsx bench/cpu-profile.ts <file.cpuprofile> [top]`. The HTTP benchmark writes its servers' profiles
 * when REVOCABLE_BENCH_CPU_PROF names a directory.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Busy time under each frame (itself and what it called), per function; recursion counted once per stack. */
function inclusiveTimes(profile: Profile, selfUs: Map<number, number>): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const totals = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const key = frameKey(byId.get(at)!.callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      totals.set(key, (totals.get(key) ?? 0) + us);
    }
  }
  return totals;
}

function frameKey({ functionName, url, lineNumber }: ProfileNode['callFrame']): string {
  const where = url ? `${url.replace(/^file:\/\/.*?\/(node_modules|src|bench)\//, '$1/')}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'}  ${where}`;
}

export interface ProfileSummary {
  /** Busy time sampled (idle excluded); every share is of it. */
  totalMs: number;
  frames: { name: string; where: string; selfMs: number; share: number }[];
  packages: { name: string; selfMs: number; share: number }[];
  /** Frames of the project (src/, bench/) by inclusive time. */
  inclusive: { frame: string; ms: number; share: number }[];
}

/** `node_modules/<pkg>` (scoped too), `src/<dir>`, `node:internal`, or the program itself. */
function packageOf(url: string): string {
  if (!url) return '(native / V8)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node (internals)';
  const src = url.indexOf('/src/');
  if (src >= 0) return `revocable src/${url.slice(src + 5).split('/')[0]}`;
  return url.replace(/^file:\/\//, '');
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  // Shares are of the busy time: a server waiting for the next request is idle, not slow.
  for (const [id] of selfUs) if (byId.get(id)!.callFrame.functionName === '(idle)') selfUs.delete(id);
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const frames = new Map<string, { name: string; where: string; us: number }>();
  const packages = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = url ? `${url.replace(/^file:\/\/.*?\/(node_modules|src|bench)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${functionName}@${where}`;
    const frame = frames.get(key) ?? { name: functionName || '(anonymous)', where, us: 0 };
    frame.us += us;
    frames.set(key, frame);
    packages.set(packageOf(url), (packages.get(packageOf(url)) ?? 0) + us);
  }
  const inclusive = [...inclusiveTimes(profile, selfUs).entries()]
    .filter(([key]) => /\s(src|bench)\//.test(key))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, us]) => ({ frame, ms: us / 1000, share: us / totalUs }));
  return {
    inclusive,
    totalMs: totalUs / 1000,
    frames: [...frames.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: f.us / 1000, share: f.us / totalUs })),
    packages: [...packages.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: us / totalUs })),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, top] = process.argv.slice(2);
  if (!file) throw new Error('usage: tsx bench/cpu-profile.ts <file.cpuprofile> [top]');
  const summary = summarizeProfile(file, Number(top) || 25);
  const pct = (share: number) => `${(share * 100).toFixed(1).padStart(5)} %`;
  console.log(`${summary.totalMs.toFixed(0)} ms busy (idle excluded; shares are of the busy time)\n\nself time by package:`);
  for (const p of summary.packages.slice(0, 15)) console.log(`${pct(p.share)}  ${p.name}`);
  console.log('\ntop frames by self time:');
  for (const f of summary.frames) console.log(`${pct(f.share)}  ${f.name}  ${f.where}`);
  console.log('\nthe project\'s frames by inclusive time:');
  for (const f of summary.inclusive) console.log(`${pct(f.share)}  ${f.frame}`);
}
