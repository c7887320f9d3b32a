"""Observability and fault injection shared by the simulated Tandem clouds.

A sandbox class using ``FaultsMixin`` defines ``HOSTS`` (its host names) and keeps ``_lock``,
``_counts`` (host -> requests), ``_log``, ``_faults`` (host -> deque), ``_predicates`` and
``_tokens`` (token -> [kind, expires_at]), ``_down`` (a set), ``_servers`` (host -> server with
start/stop) and ``_running``; its request handler consumes the faults.
"""


class FaultsMixin:
    HOSTS = ()

    @property
    def request_counts(self):
        with self._lock:
            return dict(self._counts)

    @property
    def request_log(self):
        with self._lock:
            return list(self._log)

    def reset_counts(self):
        with self._lock:
            self._counts = {h: 0 for h in self.HOSTS}
            self._log = []

    def _check_host(self, host):
        if host not in self.HOSTS:
            raise ValueError("unknown host %r (one of %s)" % (host, ", ".join(self.HOSTS)))

    def fail_next(self, host, n=1, status=500, headers=None, body=None):
        """The next ``n`` requests to ``host`` answer ``status`` (default body per host)."""
        self._check_host(host)
        with self._lock:
            self._faults[host].extend([("fail", status, headers, body)] * n)

    def drop_next(self, host, n=1):
        """The next ``n`` requests to ``host`` get their connection closed without an answer."""
        self._check_host(host)
        with self._lock:
            self._faults[host].extend([("drop",)] * n)

    def fail_when(self, predicate):
        """``predicate(host, method, path, query)`` -> None, a status, (status, headers, body), or
        "drop" (the connection closes without an answer), asked for every request. Returns the
        predicate (for ``remove_fault``)."""
        with self._lock:
            self._predicates.append(predicate)
        return predicate

    def remove_fault(self, predicate):
        with self._lock:
            self._predicates.remove(predicate)

    def clear_faults(self):
        with self._lock:
            for q in self._faults.values():
                q.clear()
            self._predicates = []

    def expire_tokens(self):
        """Every token issued so far is expired from now on (401 until the client logs in again)."""
        with self._lock:
            for entry in self._tokens.values():
                entry[1] = float("-inf")

    @property
    def down(self):
        """The hosts that refuse connections (a set; truthy when any is down)."""
        return frozenset(self._down)

    @down.setter
    def down(self, value):
        if value is True:
            value = set(self.HOSTS)
        elif value is False or value is None:
            value = set()
        elif isinstance(value, str):
            value = {value}
        for host in self.HOSTS:
            self.set_down(host, host in set(value))

    def set_down(self, host, flag=True):
        self._check_host(host)
        if flag:
            self._down.add(host)
            self._servers[host].stop()
        else:
            self._down.discard(host)
            if self._running:
                self._servers[host].start()
