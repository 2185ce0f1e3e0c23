"""A module the RFC's PythonModule example runs on a stream."""
import json
import os


def action():
    with open(os.environ["STREAMTEST_PARAMS_FILE"]) as f:
        params = json.load(f)
    print(params.get("greeting", ""))
    if params.get("debug"):
        print("debug is on")
