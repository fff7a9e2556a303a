"""The loopback Twilio server in a process of its own, so it does not share the sender's CPU.

Prints its base URL on the first line; when standard input closes, prints the server's own
monotonic timestamp of every message create as one JSON list, and exits.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes import twilio_api

# The fake writes headers and body separately; without TCP_NODELAY, Nagle's algorithm and the
# client's delayed ACK add ~40 ms to every answer, which real Twilio does not do.
twilio_api._Handler.disable_nagle_algorithm = True


def main() -> None:
    """Serve until standard input closes, then report the call times."""
    with twilio_api.FakeTwilioAPI() as fake:
        print(fake.base_url, flush=True)
        sys.stdin.read()
        print(json.dumps([call.at for call in fake.calls]), flush=True)


if __name__ == "__main__":
    main()
