"""What the interop checks share: one PASS/FAIL line per check and the
closing "CLIENT: N passed, M failed" that run.sh and CI read."""

import sys
import traceback


class Checks:
    def __init__(self, client):
        self.client = client
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"PASS {self.client}: {name}")
        else:
            self.failed += 1
            print(f"FAIL {self.client}: {name}" + (f": {detail}" if detail else ""))
        return ok

    def step(self, name, fn):
        """Runs fn; an exception is a failed check (and returns None)."""
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - every error is a finding here
            self.check(name, False, f"{type(e).__name__}: {e}")
            traceback.print_exc(limit=3, file=sys.stdout)
            return None

    def finish(self):
        """Prints the count and exits 1 if anything failed or nothing ran."""
        print(f"{self.client}: {self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed or not self.passed else 0)
