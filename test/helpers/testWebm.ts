/** ffmpeg arguments that make a small VP8 (+ Opus) WebM test file from lavfi sources. */
export function testWebmArgs(
  out: string,
  opts: { pattern?: string; size?: string; audio?: boolean; seconds: number },
): string[] {
  const { pattern = 'testsrc', size = '320x240', audio = true, seconds } = opts;
  return [
    '-y',
    '-f', 'lavfi', '-i', `${pattern}=size=${size}:rate=25:duration=${seconds}`,
    ...(audio ? ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`] : []),
    '-c:v', 'libvpx', '-b:v', '300k', '-deadline', 'realtime', '-cpu-used', '8',
    ...(audio ? ['-c:a', 'libopus', '-b:a', '48k'] : []),
    out,
  ];
}
