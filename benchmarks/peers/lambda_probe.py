"""What a function process sees under the rig: its path, its user, and whether it can
write its own code folder (it must not: Lambda's /var/task is read-only)."""

import os
import sys


def handler(event, context):  # type: ignore[no-untyped-def]
    root = os.environ["LAMBDA_TASK_ROOT"]
    try:
        with open(os.path.join(root, "written-by-the-function"), "w") as out:
            out.write("x")
        write = "written"
    except OSError as error:
        write = type(error).__name__ + ": " + (error.strerror or "")
    return {
        "sys_path": sys.path,
        "flags": {"isolated": sys.flags.isolated, "no_site": sys.flags.no_site},
        "site_imported": "site" in sys.modules,
        "uid": os.getuid(),
        "gid": os.getgid(),
        "groups": os.getgroups(),
        "cwd": os.getcwd(),
        "home": os.environ.get("HOME"),
        "tmpdir": os.environ.get("TMPDIR"),
        "write_into_code": write,
        "version": list(sys.version_info[:2]),
        "aws_request_id": context.aws_request_id,
        "awslambdaric": sys.modules["awslambdaric"].__file__,
    }
