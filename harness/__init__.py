"""The system's parts as child processes on one machine, for ``make demo``, the tests and the benchmarks.

It never imports pytest (the demo runs without it) nor Django (the processes it starts load that).
"""
