"""The check helpers of the redis-py scripts in Tests/clients: each check prints one line
(`ok  ` or `FAIL`), and `finish()` exits 1 if any failed."""
import sys

failures = []


def check(name, got, expected):
    ok = got == expected
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {got!r}" + ("" if ok else f" (expected {expected!r})"))
    if not ok:
        failures.append(name)


def raises(name, call, error_type, text):
    try:
        call()
    except error_type as error:
        check(name, text in str(error), True)
        return
    except Exception as error:  # the wrong kind of error
        check(name, f"{type(error).__name__}: {error}", error_type.__name__)
        return
    check(name, "no exception", error_type.__name__)


def finish():
    sys.exit(1 if failures else 0)
