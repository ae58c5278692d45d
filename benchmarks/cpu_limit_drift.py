"""Does a soft RLIMIT_CPU fire before ``getrusage`` says the limit is reached?

    python benchmarks/cpu_limit_drift.py

Burns CPU in 50 ms bursts with 5 ms sleeps (an extraction worker's pattern), setting the
soft RLIMIT_CPU one second past its CPU time so far before each burst, for at most 100 s
of wall time. If the kernel's clock for that limit (tick-sampled) ran with ``getrusage``'s
(precise), SIGXCPU would never come; when it comes, this prints the CPU time ``getrusage``
reported then. Why extraction workers budget pages with ITIMER_PROF instead
(``pipelines/workers/worker.py``); the drift shows most on a busy machine.
"""

import math
import resource
import signal
import time

hits: list[tuple[float, int]] = []


def on_sigxcpu(_signum: int, _frame: object) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    hits.append((usage.ru_utime + usage.ru_stime, resource.getrlimit(resource.RLIMIT_CPU)[0]))


def main() -> None:
    signal.signal(signal.SIGXCPU, on_sigxcpu)
    start = time.monotonic()
    while time.monotonic() - start < 100 and not hits:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        spent = math.ceil(usage.ru_utime + usage.ru_stime)
        resource.setrlimit(resource.RLIMIT_CPU, (spent + 1, resource.RLIM_INFINITY))
        burst = time.process_time()
        while time.process_time() - burst < 0.05:
            pass
        time.sleep(0.005)
    if hits:
        cpu, limit = hits[0]
        print(f"SIGXCPU at {cpu:.2f} s of CPU by getrusage; soft limit then {limit} s (the "
              f"kernel raises it by 1 s when it signals); {time.monotonic() - start:.0f} s in")
    else:
        print("no SIGXCPU: the two clocks agreed within 1 s over the run")


if __name__ == "__main__":
    main()
