/**
 * `npm run worker`: the egress job worker (finalize recordings, composite video, live HLS) runs here once the
 * recording and egress issue lands. Until then it says so and exits, rather than pretending to work.
 */
process.stderr.write('lectern worker: the egress job queue is not implemented yet (see the recording and egress issue)\n');
process.exit(1);
