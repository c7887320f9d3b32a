"""``python -m tconnectsync.sandbox.nightscout``: serve a fake Nightscout until Ctrl-C."""
import argparse
import os
import time

from .values import FLAVORS
from .store import FakeNightscout


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tconnectsync.sandbox.nightscout",
                                     description="A fake Nightscout on 127.0.0.1 (for demos and tests).")
    parser.add_argument("--port", type=int, default=0, help="port (0: a free one)")
    parser.add_argument("--secret", default=os.environ.get("NS_SECRET"),
                        help="API_SECRET (>= 12 characters; default: $NS_SECRET)")
    parser.add_argument("--flavor", choices=FLAVORS, default="15.0.7")
    parser.add_argument("--auth-default-roles", default="denied")
    args = parser.parse_args(argv)
    if not args.secret or len(args.secret) < 12:
        parser.error("--secret must have at least 12 characters")
    fake = FakeNightscout(api_secret=args.secret, flavor=args.flavor, port=args.port,
                          auth_default_roles=args.auth_default_roles).start()
    print("Fake Nightscout %s serving at %s (Ctrl-C to stop)" % (args.flavor, fake.url), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
