# Refuses text tools asked to shout; everything else goes through.
import json
import sys

ctx = json.load(sys.stdin)
if ctx["data"].get("operation") == "uppercase":
    print(json.dumps({"action": "cancel", "reason": "policy: no shouting"}))
