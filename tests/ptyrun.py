"""Run ``python -m tconnectsync`` on a pseudo-terminal, as a person at a terminal would."""
import fcntl
import os
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time


def run_on_pty(args, env, cwd, columns=None, stderr_apart=True, timeout=120):
    """(exit code, what the terminal showed, stderr). stdin and stdout are the terminal; stderr
    too with ``stderr_apart=False`` (then the returned stderr is ""). ``columns`` sets its width."""
    master, slave = os.openpty()
    if columns:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "tconnectsync", *args], stdin=slave, stdout=slave,
                                stderr=err if stderr_apart else slave, cwd=cwd, env=env, close_fds=True)
        os.close(slave)
        chunks, deadline = [], time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.5)
                if not ready:
                    if proc.poll() is not None:
                        break
                    continue
                try:
                    data = os.read(master, 65536)
                except OSError:              # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            code = proc.wait(timeout=max(1, deadline - time.monotonic()))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(master)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return code, b"".join(chunks).decode("utf-8", "replace"), stderr
