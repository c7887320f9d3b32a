"""Run the tconnectsync CLI in this process and report its peak RSS (used by the benchmarks)."""
import resource
import sys

from tconnectsync.cli import run

if __name__ == "__main__":
    code = run(sys.argv[1:])
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("PEAK_RSS_KB=%d" % peak_kb, file=sys.stderr)
    sys.exit(code)
