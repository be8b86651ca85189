"""gitward's benchmarks: `python -m bench peers --n 100,1000` (see __main__).

The story of one run, module by module: peer_env installs the peers into
their own venv; repo builds, for each N, one bare origin holding N files and
every tool's description of them; tools and peers say how each contestant
is run (as a cron line would: start-up, `git pull` and all); suite runs the
scenarios round by round, tools interleaved, checking every run with check;
measure times each run and reads its rusage; report and plot turn the runs
into bench/results/. Nothing here asserts timings; tests/bench only checks
that every scenario converged.
"""
