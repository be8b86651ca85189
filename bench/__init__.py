"""gitward's benchmarks: `python -m bench core --n 100,1000,10000`.

Each benchmark builds its own Git repositories under bench/work/, runs the
tools as separate processes (start-up included, as a user would run them),
interleaves the tools run by run so the noise of a shared machine hits all of
them alike, and reports medians and ratios against a baseline measured in
the same run. Nothing here asserts timings; tests only check that every
scenario converged.
"""
