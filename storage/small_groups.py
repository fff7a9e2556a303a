"""Groups too small to show exactly: every figure shown to people hides groups under this size."""

SMALL_GROUP = 5
FEWER_THAN = f"fewer than {SMALL_GROUP}"
